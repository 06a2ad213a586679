"""Creates the chart's password Secrets that do not exist yet, and never changes one that does.

Run by the Job of the chart's pre-install and pre-upgrade hook (Argo CD runs it as a PreSync
hook), so rendered manifests carry no passwords and every render of the same values is the
same: an existing Secret, whose passwords PostgreSQL's roles were created with, is left as it
is whatever tool renders the chart.

For each Secret of the configuration file (argv[1], JSON: namespace, labels, secrets with
name, component and keys):
- POST it with random passwords (the `secrets` module); 201 created it.
- 409: it exists. Its data stays as it is. It must have every key (else the chart's pods
  could not start: the script fails and says which). It gets the annotations that keep it
  out of the release's hands, when it lacks them (a merge PATCH of those annotations
  only): `helm.sh/resource-policy: keep`, because a Secret an earlier chart version rendered
  is owned by the release and `helm upgrade` would delete it once it left the manifest, and
  Argo CD's `Prune=false` and `IgnoreExtraneous` for the same reason under Argo CD.

It talks to the Kubernetes API with the pod's projected service account token and CA, with
the standard library only (the app image's Python). Any other answer fails the Job with a
message that names the Secret, the request and the API's reason.
"""

import base64
import json
import os
import secrets
import ssl
import string
import sys
import urllib.error
import urllib.request

ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
# Letters and digits only: the passwords end up in URLs, config files and psql variables.
ALPHABET = string.ascii_letters + string.digits
LENGTH = 32
# What keeps a Secret when the release no longer renders it (see the module docstring).
KEEP = {
    "helm.sh/resource-policy": "keep",
    "argocd.argoproj.io/sync-options": "Prune=false",
    "argocd.argoproj.io/compare-options": "IgnoreExtraneous",
}


class Failure(Exception):
    """A reason to fail the Job, said to the person reading its log."""


class Api:
    def __init__(self):
        host = os.environ.get("KUBERNETES_SERVICE_HOST")
        port = os.environ.get("KUBERNETES_SERVICE_PORT")
        if not host or not port:
            raise Failure("KUBERNETES_SERVICE_HOST/PORT are not set: not running in a pod?")
        if ":" in host:
            host = f"[{host}]"
        self.base = f"https://{host}:{port}"
        try:
            with open(os.path.join(ACCOUNT, "token"), encoding="utf-8") as f:
                self.token = f.read().strip()
        except OSError as e:
            raise Failure(f"cannot read the service account token: {e}") from e
        self.tls = ssl.create_default_context(cafile=os.path.join(ACCOUNT, "ca.crt"))

    def call(self, method, path, body=None, content_type="application/json"):
        """(status, parsed JSON body) of a request; HTTP errors are answers, not failures."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, context=self.tls, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as e:
            text = e.read().decode("utf-8", "replace")
            try:
                answer = json.loads(text)
            except ValueError:
                answer = {"message": text.strip()}
            return e.code, answer
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise Failure(f"cannot reach the Kubernetes API at {self.base}: {reason}") from e


def password():
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def refused(what, status, answer):
    return Failure(
        f"{what}: the Kubernetes API answered {status} {answer.get('reason', '')}: "
        f"{answer.get('message', answer)}"
    )


def ensure(api, namespace, labels, spec):
    """Creates one Secret or keeps the existing one; what it did, for the log."""
    name = spec["name"]
    collection = f"/api/v1/namespaces/{namespace}/secrets"
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": dict(labels, **{"app.kubernetes.io/component": spec["component"]}),
            "annotations": KEEP,
        },
        "type": "Opaque",
        "data": {k: base64.b64encode(password().encode()).decode() for k in spec["keys"]},
    }
    status, answer = api.call("POST", collection, body)
    if status == 201:
        return f"created Secret {name} with random {', '.join(spec['keys'])}"
    if status != 409:
        raise refused(f"creating Secret {namespace}/{name}", status, answer)

    status, live = api.call("GET", f"{collection}/{name}")
    if status != 200:
        raise refused(f"reading the existing Secret {namespace}/{name}", status, live)
    missing = [k for k in spec["keys"] if k not in (live.get("data") or {})]
    if missing:
        raise Failure(
            f"Secret {namespace}/{name} exists without the key(s) {', '.join(missing)}; this "
            "hook never changes an existing Secret: add them, or delete it on a new install"
        )
    annotations = live.get("metadata", {}).get("annotations") or {}
    lacking = {k: v for k, v in KEEP.items() if annotations.get(k) != v}
    if not lacking:
        return f"Secret {name} exists: left as it is"
    patch = {"metadata": {"annotations": lacking}}
    status, answer = api.call(
        "PATCH", f"{collection}/{name}", patch, "application/merge-patch+json"
    )
    if status != 200:
        raise refused(f"annotating the existing Secret {namespace}/{name}", status, answer)
    return f"Secret {name} exists: passwords left as they are, annotated {', '.join(lacking)}"


def main():
    if len(sys.argv) != 2:
        print("usage: create-secrets.py CONFIG.json", file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        config = json.load(f)
    try:
        api = Api()
        for spec in config["secrets"]:
            print(ensure(api, config["namespace"], config["labels"], spec), flush=True)
    except Failure as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
