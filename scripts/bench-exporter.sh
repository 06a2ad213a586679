#!/usr/bin/env bash
# Cost of the postgres-exporter custom queries (queries.yaml of the exporter ConfigMap) on a
# PostgreSQL 16 database with many tables and indexes: the time of one scrape of all of
# them, each query's share, and the CPU that a scrape interval costs the database.
#
#   scripts/bench-exporter.sh [--chart DIR | --queries FILE] [--tables N] [--scrapes N] [--interval S]
#
#   --chart DIR     chart whose queries are measured [default: the standard profile,
#                   rendered now by the release build into a temporary directory]
#   --queries FILE  a queries.yaml to measure instead (e.g. a proposed rewrite)
#   --tables N      user tables in the app database, each with a primary key, one more
#                   index and a TOAST table [default: 1000, so 2,000 indexes]
#   --scrapes N     measured scrapes, after 3 warm-up scrapes [default: 21]
#   --interval S    scrape interval for the CPU figure [default: 30]
#
# The server is PostgreSQL 16 from $PG_BIN (scripts/install-tools.sh), initdb defaults,
# run as $TEST_RUN_AS_USER when this runs as root, listening on 127.0.0.1 on a free port,
# in a temporary directory; it is stopped and removed at the end. Each scrape runs every
# query once, in file order, in one psql session (the exporter keeps its connection), and
# psql's \timing gives each query's client-side time (round trip included: an upper bound
# of the server's CPU). Per query: the median over the scrapes, the first run of the
# session (cold catalog caches) and the server's planning + execution time from EXPLAIN
# (ANALYZE); the plans (with BUFFERS) are written to target/bench-exporter/. The CPU share
# is sum(median / max(cache_seconds, interval)) / interval-normalised, i.e. the fraction of
# one core the queries keep busy. Figures and machine: docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."

chart='' queries_yaml='' tables=1000 scrapes=21 interval=30
while [[ $# -gt 0 ]]; do
    case $1 in
    --chart) chart=$2 ;;
    --queries) queries_yaml=$2 ;;
    --tables) tables=$2 ;;
    --scrapes) scrapes=$2 ;;
    --interval) interval=$2 ;;
    *)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
        exit 2
        ;;
    esac
    shift 2
done

if [[ ! -f .tools/env.sh ]]; then
    echo "bench-exporter: .tools/env.sh is missing: run scripts/install-tools.sh first" >&2
    exit 2
fi
# shellcheck source=/dev/null
. .tools/env.sh
python=.tools/venv/bin/python # has PyYAML
results=$PWD/target/bench-exporter
mkdir -p "$results"

work=$(mktemp -d)
chmod 755 "$work"
pgdata=$work/data
cleanup() {
    if [[ -f $pgdata/postmaster.pid ]]; then
        as_user "$PG_BIN/pg_ctl" stop -D "$pgdata" -m fast -w >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

as_user() {
    if [[ $(id -u) -eq 0 && -n ${TEST_RUN_AS_USER:-} ]]; then
        setpriv --reuid="$(id -u "$TEST_RUN_AS_USER")" --regid="$(id -g "$TEST_RUN_AS_USER")" \
            --clear-groups -- "$@"
    else
        "$@"
    fi
}

# The queries, from the chart's exporter ConfigMap as Helm renders it (or --queries).
if [[ -n $queries_yaml ]]; then
    cp "$queries_yaml" "$work/queries.yaml"
else
    if [[ -z $chart ]]; then
        cargo build --release --locked --quiet
        target/release/alertchart render --profile standard --out "$work/chart" 2>/dev/null
        chart=$work/chart/alert-history
    fi
    helm template ah "$chart" --show-only templates/postgresql/exporter-configmap.yaml |
        "$python" -c 'import sys, yaml; sys.stdout.write(yaml.safe_load(sys.stdin)["data"]["queries.yaml"])' \
            >"$work/queries.yaml"
fi
"$python" - "$work/queries.yaml" "$work/queries" <<'EOF'
import json, sys, yaml
queries = yaml.safe_load(open(sys.argv[1]))
json.dump([{"name": n, "query": q["query"].strip().rstrip(";"),
            "cache_seconds": q.get("cache_seconds", 0)} for n, q in queries.items()],
          open(sys.argv[2], "w"))
EOF

# The server.
port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if [[ $(id -u) -eq 0 && -n ${TEST_RUN_AS_USER:-} ]]; then
    chown "$TEST_RUN_AS_USER" "$work"
fi
as_user "$PG_BIN/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
as_user "$PG_BIN/pg_ctl" start -D "$pgdata" -w -l "$work/server.log" \
    -o "-c port=$port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$work" >/dev/null
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=alert_history
psql() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql -d postgres -c 'CREATE DATABASE alert_history'

# The app database: monitoring.backup_history as init.sql creates it (one row per backup),
# and N tables with 100 rows each, a primary key, an index on created_at and a TOAST table.
psql <<EOF
CREATE SCHEMA monitoring;
CREATE TABLE monitoring.backup_history (
  id          bigserial   PRIMARY KEY,
  started_at  timestamptz NOT NULL,
  finished_at timestamptz NOT NULL,
  label       text        NOT NULL,
  size_bytes  bigint      NOT NULL
);
CREATE INDEX backup_history_finished_at_idx ON monitoring.backup_history (finished_at);
INSERT INTO monitoring.backup_history (started_at, finished_at, label, size_bytes)
  SELECT now() - g * interval '1 day' - interval '5 min', now() - g * interval '1 day',
         'base-' || g, 100000000
    FROM generate_series(1, 30) g;
SELECT format('CREATE TABLE public.t%1\$s (id bigint PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(), payload text);
               CREATE INDEX t%1\$s_created_at_idx ON public.t%1\$s (created_at);
               INSERT INTO public.t%1\$s (id, payload) SELECT g, md5(g::text) FROM generate_series(1, 100) g;
               DELETE FROM public.t%1\$s WHERE id %% 10 = 0;', i)
  FROM generate_series(1, $tables) i \gexec
EOF
psql -c 'VACUUM ANALYZE' -c 'SELECT pg_stat_force_next_flush()' >/dev/null
read -r user_tables user_indexes < <(psql -At -F ' ' -c \
    "SELECT (SELECT count(*) FROM pg_stat_user_tables), (SELECT count(*) FROM pg_stat_user_indexes)")

# The measurements.
"$python" - "$work/queries" "$results" "$scrapes" "$interval" "$PG_BIN/psql" <<'EOF'
import json, re, statistics, subprocess, sys

queries = json.load(open(sys.argv[1]))
results, scrapes, interval, psql = sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
warmup = 3

def run(script):
    out = subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1"], input=script,
                         capture_output=True, text=True, check=True).stdout
    return [float(t) for t in re.findall(r"^Time: ([0-9.]+) ms", out, re.M)]

# One session: warm-up and measured scrapes, every query once per scrape, in file order.
script = "\\timing on\n\\o /dev/null\n" + "".join(
    q["query"] + ";\n" for _ in range(warmup + scrapes) for q in queries)
times = run(script)
assert len(times) == len(queries) * (warmup + scrapes), len(times)
per_scrape = [times[i * len(queries):(i + 1) * len(queries)] for i in range(warmup + scrapes)]
cold = per_scrape[0]
measured = per_scrape[warmup:]
median = [statistics.median(s[i] for s in measured) for i in range(len(queries))]
totals = [sum(s) for s in measured]

# Server-side planning + execution (EXPLAIN ANALYZE without per-node timing, in one warm
# session: one discarded run, then 5 measured), and the plans with BUFFERS.
explain = "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) "
script = "".join(explain + q["query"] + ";\n" for q in queries for _ in range(6))
out = subprocess.run([psql, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"], input=script,
                     capture_output=True, text=True, check=True).stdout
decoder, pos, plans_json = json.JSONDecoder(), 0, []
while (pos := out.find("[", pos)) != -1:
    doc, pos = decoder.raw_decode(out, pos)
    plans_json.append(doc[0])
assert len(plans_json) == 6 * len(queries), len(plans_json)
server = [statistics.median(p["Planning Time"] + p["Execution Time"]
                            for p in plans_json[6 * i + 1:6 * i + 6])
          for i in range(len(queries))]
with open(f"{results}/plans.txt", "w") as plans:
    for q in queries:
        text = subprocess.run(
            [psql, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c",
             "EXPLAIN (ANALYZE, BUFFERS) " + q["query"]],
            capture_output=True, text=True, check=True).stdout
        plans.write(f"=== {q['name']}\n{text}\n")

total = sum(median)
print(f"{'query':<26} {'cache s':>7} {'median ms':>10} {'share':>7} {'cold ms':>9} "
      f"{'server ms':>10} {'% core':>9}")
core = 0.0
rows = []
for q, m, c, s in zip(queries, median, cold, server):
    period = max(q["cache_seconds"], interval)
    frac = m / 1000 / period
    core += frac
    print(f"{q['name']:<26} {q['cache_seconds']:>7} {m:>10.3f} {100 * m / total:>6.1f}% "
          f"{c:>9.3f} {s:>10.3f} {100 * frac:>8.4f}%")
    rows.append({"name": q["name"], "cache_seconds": q["cache_seconds"], "median_ms": m,
                 "cold_ms": c, "server_ms": s, "core_fraction": frac})
print(f"{'one scrape, all queries':<26} {'':>7} {total:>10.3f} {'100%':>7} {sum(cold):>9.3f} "
      f"{sum(server):>10.3f}")
print(f"median of the per-scrape totals: {statistics.median(totals):.3f} ms over {scrapes} scrapes")
print(f"CPU at a {interval:g} s scrape interval (cache_seconds honoured): "
      f"{100 * core:.4f} % of one core")
json.dump({"queries": rows, "scrape_total_ms": statistics.median(totals),
           "core_fraction": core, "interval_seconds": interval},
          open(f"{results}/results.json", "w"), indent=2)
print(f"plans: {results}/plans.txt")
EOF
echo "database: $user_tables user tables, $user_indexes user indexes (PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'))"
