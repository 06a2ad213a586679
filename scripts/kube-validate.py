#!/usr/bin/env python3
"""Strictly validate Kubernetes manifests (e.g. `helm template` output) offline.

Usage:
  kube-validate.py --kube-version X.Y FILE|-    validate a multi-document YAML stream
  kube-validate.py --list-versions              Kubernetes versions with schemas, oldest first
  kube-validate.py --self-test                  check this script against known cases

Run it with the interpreter of <repo>/.tools/venv (scripts/install-tools.sh
installs a pinned `kubernetes-validate` there, whose package ships the JSON
schemas of several Kubernetes versions, including "strict" variants in which
every object has additionalProperties: false).

Every non-empty document is accounted for, none is skipped silently:
  * A kind of a built-in API group (core, apps, ..., any group Kubernetes itself
    serves in a shipped version) is validated against the strict schema of
    exactly the requested minor version: unknown fields, wrong types and missing
    required fields are errors, and so is a group/version/kind that version
    does not serve (e.g. policy/v1beta1 PodSecurityPolicy on 1.27).
  * A kind of any other group (a CRD, e.g. monitoring.coreos.com PrometheusRule)
    is reported on stderr as "not validated here: Kind/name" and listed in the
    summary.
  * Also errors: YAML that does not parse, duplicate mapping keys (the API
    server's strict field validation rejects them too), a document that is not
    a mapping or lacks apiVersion/kind/metadata.name, two documents for the same
    object, and an input with no document at all.

The last line on stdout is a JSON summary:
  {"kube_version": "1.27", "validated": N, "not_validated": ["PrometheusRule/x"], "errors": ["..."]}
Exit status: 0 no errors, 1 errors, 2 bad usage or a version without schemas.
"""

import argparse
import contextlib
import io
import json
import re
import sys
from functools import lru_cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml
from kubernetes_validate.version import __version__ as KV_VERSION
from referencing import Registry, Resource

SCHEMA_ROOT = Path(kubernetes_validate.__file__).resolve().parent / "kubernetes-json-schema"
DEFS_ID = "https://kubernetes.io/api/_definitions.json"
_DIR_RE = re.compile(r"^v(\d+)\.(\d+)\.(\d+)-local-strict$")
MAX_MESSAGE = 400


class UsageError(Exception):
    pass


# ---------------------------------------------------------------- schemas ----

def shipped_versions():
    """{"1.27": Path(.../v1.27.0-local-strict), ...}"""
    found = {}
    for d in SCHEMA_ROOT.iterdir():
        m = _DIR_RE.match(d.name)
        if m and (d / "_definitions.json").is_file():
            found[f"{m.group(1)}.{m.group(2)}"] = d
    return dict(sorted(found.items(), key=lambda kv: tuple(map(int, kv[0].split(".")))))


def normalize_version(v):
    m = re.match(r"^v?(\d+)\.(\d+)(?:\.\d+)?$", v.strip())
    if not m:
        raise UsageError(f"bad --kube-version {v!r}: want X.Y")
    v = f"{int(m.group(1))}.{int(m.group(2))}"
    versions = shipped_versions()
    if v not in versions:
        raise UsageError(f"no schemas for Kubernetes {v} in kubernetes-validate {KV_VERSION} "
                         f"(available: {', '.join(versions)})")
    return v


@lru_cache(maxsize=None)
def definitions(version):
    with open(shipped_versions()[version] / "_definitions.json") as f:
        return json.load(f)


@lru_cache(maxsize=None)
def gvk_index(version):
    """(group, version, kind) -> definition name, for kinds this version serves."""
    index = {}
    for name, schema in definitions(version)["$defs"].items():
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            index[(gvk["group"], gvk["version"], gvk["kind"])] = name
    return index


@lru_cache(maxsize=None)
def builtin_groups():
    """API groups Kubernetes itself serves in any shipped version (loaded lazily)."""
    groups = set()
    for v in shipped_versions():
        groups.update(g for g, _, _ in gvk_index(v))
    return groups


def _is_int(_checker, instance):
    # Kubernetes decodes integers with Go's encoding/json: 3.0 is not an int32.
    return isinstance(instance, int) and not isinstance(instance, bool)


_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_int),
)

# Only integer ranges: other formats (date-time, byte, ...) are not checked by
# the API server on decode either.
_FORMATS = jsonschema.FormatChecker(formats=())


@_FORMATS.checks("int32")
def _int32(value):
    return not _is_int(None, value) or -(2**31) <= value < 2**31


@_FORMATS.checks("int64")
def _int64(value):
    return not _is_int(None, value) or -(2**63) <= value < 2**63


@lru_cache(maxsize=None)
def registry(version):
    return Resource.from_contents(definitions(version)) @ Registry()


@lru_cache(maxsize=None)
def validator(version, def_name):
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "$ref": f"{DEFS_ID}#/$defs/{def_name}"}
    return _Validator(schema, registry=registry(version), format_checker=_FORMATS)


# ------------------------------------------------------------------- YAML ----

class _Loader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys and reads YAML like Kubernetes does
    where PyYAML differs in ways that matter (timestamps stay strings)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                except TypeError:
                    continue  # unhashable: the base constructor reports it
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"duplicate key {key!r}", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _scalar_as_string(loader, node):
    return loader.construct_scalar(node)


# Unquoted 2024-01-01 is a string to Kubernetes (sigs.k8s.io/yaml), not a date.
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _scalar_as_string)
# A bare "=" resolves to the YAML 1.1 value tag, which SafeLoader cannot build.
_Loader.add_constructor("tag:yaml.org,2002:value", _scalar_as_string)

_SOURCE_RE = re.compile(r"^# Source: (.+?)\s*$")


def load_documents(text):
    """Returns ([(source or None, line, data)], parse_error or None); empty documents dropped."""
    sources = [(i, m.group(1)) for i, line in enumerate(text.splitlines())
               if (m := _SOURCE_RE.match(line))]
    docs, error = [], None
    loader = _Loader(text)
    prev_end = -1
    try:
        while loader.check_node():
            node = loader.get_node()
            start, end = node.start_mark.line, node.end_mark.line
            data = loader.construct_document(node)
            if data is None:
                prev_end = end
                continue
            source = None
            for line, src in sources:
                if prev_end <= line <= start:
                    source = src
            docs.append((source, start + 1, data))
            prev_end = end
    except yaml.YAMLError as e:
        error = f"YAML error: {e}".replace("\n", " ")
    finally:
        loader.dispose()
    return docs, error


# -------------------------------------------------------------- validation ----

def _path(parts):
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(root)"


def _message(err):
    # For oneOf/anyOf the top message repeats the whole instance; the best
    # matching sub-error is usually what needs fixing.
    if err.context:
        err = jsonschema.exceptions.best_match(err.context)
    msg = f"{_path(err.absolute_path)}: {err.message}"
    return msg if len(msg) <= MAX_MESSAGE else msg[:MAX_MESSAGE] + "..."


def validate_text(text, version, verbose=False):
    """Validate a YAML stream. Returns the summary dict (see module docstring)."""
    summary = {"kube_version": version, "validated": 0, "not_validated": [], "errors": []}
    errors = summary["errors"]
    docs, parse_error = load_documents(text)
    if not docs and not parse_error:
        errors.append("no Kubernetes documents in input")
    seen_objects = {}
    for source, line, doc in docs:
        where = f"{source}, line {line}" if source else f"line {line}"
        if not isinstance(doc, dict):
            errors.append(f"document at {where}: not a mapping but {type(doc).__name__}")
            continue
        api_version, kind = doc.get("apiVersion"), doc.get("kind")
        meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
        name = meta.get("name") or meta.get("generateName")
        ident = f"{kind or '<no kind>'}/{name or '<no name>'}"
        label = f"{ident} ({where})"
        if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version or not kind:
            errors.append(f"{label}: apiVersion and kind must be non-empty strings")
            continue
        if not isinstance(name, str) or not name:
            errors.append(f"{label}: metadata.name is missing")
        group, _, gv_version = api_version.rpartition("/")
        key = (group, kind, meta.get("namespace"), name)
        if name and key in seen_objects:
            errors.append(f"{label}: same object as at {seen_objects[key]}")
        seen_objects.setdefault(key, where)

        def_name = gvk_index(version).get((group, gv_version, kind))
        if def_name is None:
            if "." not in group or group in builtin_groups():
                errors.append(f"{label}: Kubernetes {version} does not serve "
                              f"kind {kind} in {api_version}")
            else:
                print(f"not validated here: {ident} ({api_version}, {where})", file=sys.stderr)
                summary["not_validated"].append(ident)
            continue
        problems = sorted(validator(version, def_name).iter_errors(doc),
                          key=lambda e: [str(p) for p in e.absolute_path])
        errors.extend(f"{label}: {_message(e)}" for e in problems)
        summary["validated"] += 1
        if verbose and not problems:
            print(f"valid: {ident} ({api_version}, {where})", file=sys.stderr)
    if parse_error:
        errors.append(parse_error)
    return summary


# ---------------------------------------------------------------- self-test --

_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, built: 2024-01-01}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          ports: [{containerPort: 80, name: http}]
          livenessProbe: {httpGet: {path: /, port: http}}
          resources: {limits: {cpu: 500m, memory: 128Mi}, requests: {cpu: 0.1}}
"""


def _self_test():
    versions = list(shipped_versions())
    checks = 0

    def expect(text, version, *, validated=None, not_validated=None, errors_contain=(), ok=None):
        nonlocal checks
        err_out = io.StringIO()
        with contextlib.redirect_stderr(err_out):
            s = validate_text(text, version)
        for ident in s["not_validated"]:
            assert f"not validated here: {ident} (" in err_out.getvalue(), (ident, err_out.getvalue())
        errs = " | ".join(s["errors"])
        if validated is not None:
            assert s["validated"] == validated, (s, text)
        if not_validated is not None:
            assert s["not_validated"] == not_validated, (s, text)
        for needle in errors_contain:
            assert needle in errs, (needle, s, text)
        if ok is not None:
            assert (not s["errors"]) == ok, (s, text)
        checks += 1

    for v in ("1.27", versions[-1]):
        expect(_DEPLOYMENT, v, validated=1, ok=True)
        expect(_DEPLOYMENT.replace("image: nginx", "imagePullPolicyy: Always\n          image: nginx"), v,
               errors_contain=["'imagePullPolicyy' was unexpected", "containers[0]"], ok=False)
        expect(_DEPLOYMENT.replace("  name: web\n", "  name: web\n  bogus: 1\n", 1), v,
               errors_contain=["'bogus' was unexpected"], ok=False)
        expect(_DEPLOYMENT.replace("replicas: 2", 'replicas: "2"'), v,
               errors_contain=["spec.replicas", "is not of type 'integer'"], ok=False)
        expect(_DEPLOYMENT.replace("replicas: 2", "replicas: 2.0"), v, errors_contain=["spec.replicas"], ok=False)
        expect(_DEPLOYMENT.replace("replicas: 2", "replicas: 3000000000"), v,
               errors_contain=["int32"], ok=False)
        expect(_DEPLOYMENT.replace("        - name: web\n", "        - tty: true\n"), v,
               errors_contain=["'name' is a required property"], ok=False)
        expect(_DEPLOYMENT.replace("replicas: 2", "replicas: 2\n  replicas: 3"), v,
               errors_contain=["duplicate key 'replicas'"], ok=False)
        expect(_DEPLOYMENT.replace("kind: Deployment", "kind: Deploymnet"), v,
               errors_contain=["does not serve kind Deploymnet"], ok=False)
        expect(_DEPLOYMENT.replace("apps/v1", "apps.example.com/v1"), v,
               validated=0, not_validated=["Deployment/web"], ok=True)
        expect("apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: i}\nspec: {}\n", v,
               errors_contain=["does not serve"], ok=False)
        expect("apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {a: b}}\ndata: {a: b}\n", v,
               errors_contain=["metadata.name is missing"], ok=False)
        expect("", v, errors_contain=["no Kubernetes documents"], ok=False)
        expect("---\n# just a comment\n---\n", v, errors_contain=["no Kubernetes documents"], ok=False)
        expect("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [\n", v, errors_contain=["YAML error"], ok=False)
        expect("- a\n- b\n", v, errors_contain=["not a mapping"], ok=False)
        helm_stream = (
            "---\n# Source: alertchart/templates/deploy.yaml\n" + _DEPLOYMENT +
            "---\n---\n# Source: alertchart/templates/rules.yaml\n"
            "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\n"
            "metadata: {name: alerts}\nspec: {groups: []}\n"
            "---\n# Source: alertchart/templates/svc.yaml\n"
            "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
            "spec: {ports: [{port: 80, targetPort: http}], selector: {app: web}, typo: 1}\n"
            "---\n# Source: alertchart/templates/svc2.yaml\n"
            "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 81}]}\n")
        expect(helm_stream, v, validated=3, not_validated=["PrometheusRule/alerts"],
               errors_contain=["Service/web (alertchart/templates/svc.yaml, line",
                               "'typo' was unexpected",
                               "same object as at alertchart/templates/svc.yaml"], ok=False)
    expect("apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: {name: p}\nspec: {}\n",
           "1.27", errors_contain=["does not serve kind PodSecurityPolicy"], ok=False)
    expect("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  schedule: '* * * * *'\n"
           "  timeZone: Etc/UTC\n  jobTemplate: {spec: {template: {spec: {restartPolicy: Never, "
           "containers: [{name: c, image: busybox}]}}}}\n", "1.27", validated=1, ok=True)
    for bad in ("1.3", "2.0", "latest"):
        try:
            normalize_version(bad)
        except UsageError:
            checks += 1
        else:
            raise AssertionError(f"version {bad!r} accepted")
    assert normalize_version("v1.27.4") == "1.27"
    print(f"kube-validate self-test: {checks} checks passed "
          f"(Kubernetes {versions[0]}..{versions[-1]})", file=sys.stderr)


# --------------------------------------------------------------------- main --

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kube-version", help="Kubernetes minor version, e.g. 1.27")
    ap.add_argument("--list-versions", action="store_true", help="print available versions")
    ap.add_argument("--self-test", action="store_true", help="run built-in checks")
    ap.add_argument("-v", "--verbose", action="store_true", help="also report valid documents on stderr")
    ap.add_argument("path", nargs="?", help="multi-document YAML file, or - for stdin")
    args = ap.parse_args(argv)

    if args.list_versions:
        print("\n".join(shipped_versions()))
        return 0
    if args.self_test:
        _self_test()
        return 0
    if not args.kube_version or not args.path:
        ap.error("--kube-version and a path (or -) are required")
    try:
        version = normalize_version(args.kube_version)
    except UsageError as e:
        print(f"kube-validate: {e}", file=sys.stderr)
        return 2
    try:
        text = sys.stdin.read() if args.path == "-" else Path(args.path).read_text()
    except OSError as e:
        print(f"kube-validate: cannot read {args.path}: {e}", file=sys.stderr)
        return 2
    summary = validate_text(text, version, verbose=args.verbose)
    for err in summary["errors"]:
        print(f"error: {err}", file=sys.stderr)
    print(json.dumps(summary))
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
