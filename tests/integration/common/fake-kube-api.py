"""A fake Kubernetes API server for the tests of the chart's Secret-creating hook Job.

Serves HTTPS on 127.0.0.1 (a free port, written to DIR/port once listening) with DIR/cert.pem
and DIR/key.pem, and the Secrets of namespaces, as the real API does for what the Job uses:
POST a Secret to /api/v1/namespaces/NS/secrets (201, or 409 AlreadyExists), GET and PATCH
(application/merge-patch+json, RFC 7386) /api/v1/namespaces/NS/secrets/NAME (200, or 404).
Every request must carry `Authorization: Bearer <DIR/token>` (else 401), and is authorized
against the Role rules in DIR/rules.json, as RBAC does (else 403): a rule grants a verb on
`secrets` of the core group, and one with resourceNames grants it only for those names
(so never `create`). Without DIR/rules.json everything is allowed.

The store is DIR/state.json: {"secrets": {"NS/NAME": object}, "requests": ["METHOD path
status", ...]}, read at start (the tests seed Secrets there) and rewritten after each request,
so the tests read what the Job did.

Usage: fake-kube-api.py DIR
"""

import json
import os
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIR = sys.argv[1]
STATE = os.path.join(DIR, "state.json")
LOCK = threading.Lock()


def load(name, default):
    try:
        with open(os.path.join(DIR, name), encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return default


state = load("state.json", {})
state.setdefault("secrets", {})
state.setdefault("requests", [])
rules = load("rules.json", None)
with open(os.path.join(DIR, "token"), encoding="utf-8") as f:
    TOKEN = f.read().strip()
version = [max([int(s["metadata"].get("resourceVersion", 0)) for s in state["secrets"].values()] + [0])]


def save():
    tmp = STATE + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=1, sort_keys=True)
    os.replace(tmp, STATE)


def allowed(verb, name):
    if rules is None:
        return True
    for r in rules:
        if "" not in r.get("apiGroups", []) or "secrets" not in r.get("resources", []):
            continue
        if verb not in r.get("verbs", []):
            continue
        names = r.get("resourceNames")
        if not names or (name is not None and name in names):
            return True
    return False


def merge(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge(out.get(k), v)
    return out


def status(code, reason, message):
    return code, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                  "reason": reason, "message": message, "code": code}


def handle(method, path, headers, body):
    if headers.get("Authorization") != f"Bearer {TOKEN}":
        return status(401, "Unauthorized", "Unauthorized")
    parts = path.strip("/").split("/")
    if len(parts) not in (5, 6) or parts[:3] != ["api", "v1", "namespaces"] or parts[4] != "secrets":
        return status(404, "NotFound", f"the server could not find the requested resource {path}")
    ns = parts[3]
    name = parts[5] if len(parts) == 6 else None
    verb = {("POST", False): "create", ("GET", True): "get", ("PATCH", True): "patch"}.get(
        (method, name is not None))
    if verb is None:
        return status(405, "MethodNotAllowed", f"{method} {path} is not supported here")
    if not allowed(verb, name):
        return status(403, "Forbidden",
                      f'secrets{" " + repr(name) if name else ""} is forbidden: User '
                      f'"system:serviceaccount:{ns}:test" cannot {verb} resource "secrets" in '
                      f'API group "" in the namespace "{ns}"')
    if verb == "create":
        obj = json.loads(body)
        name = obj.get("metadata", {}).get("name")
        if obj.get("kind") != "Secret" or not name:
            return status(400, "BadRequest", "not a named Secret")
        if obj["metadata"].get("namespace", ns) != ns:
            return status(400, "BadRequest", "the namespace of the object does not match the request")
        if f"{ns}/{name}" in state["secrets"]:
            return status(409, "AlreadyExists", f'secrets "{name}" already exists')
        version[0] += 1
        obj["metadata"].update(namespace=ns, resourceVersion=str(version[0]))
        state["secrets"][f"{ns}/{name}"] = obj
        return 201, obj
    key = f"{ns}/{name}"
    if key not in state["secrets"]:
        return status(404, "NotFound", f'secrets "{name}" not found')
    if verb == "get":
        return 200, state["secrets"][key]
    if headers.get("Content-Type") != "application/merge-patch+json":
        return status(415, "UnsupportedMediaType", "only application/merge-patch+json here")
    version[0] += 1
    obj = merge(state["secrets"][key], json.loads(body))
    obj["metadata"]["resourceVersion"] = str(version[0])
    state["secrets"][key] = obj
    return 200, obj


class Handler(BaseHTTPRequestHandler):
    def serve(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with LOCK:
            code, answer = handle(self.command, self.path, self.headers, body)
            state["requests"].append(f"{self.command} {self.path} {code}")
            save()
        data = json.dumps(answer).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = serve

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
tls.load_cert_chain(os.path.join(DIR, "cert.pem"), os.path.join(DIR, "key.pem"))
server.socket = tls.wrap_socket(server.socket, server_side=True)
save()
with open(os.path.join(DIR, "port.tmp"), "w", encoding="utf-8") as f:
    f.write(str(server.server_address[1]))
os.replace(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
server.serve_forever()
