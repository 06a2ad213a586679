#!/usr/bin/env bash
# Wall time of `alertchart render` (whole process, release build, into a fresh --out) against
# `helm template` of the chart it produced, in alternating runs on the same machine.
#
#   scripts/bench-render.sh [-n PAIRS] [PROFILE...]     (default: 30 pairs, every built-in profile)
#
# Per profile it prints the median of each command, the median of the per-pair ratios
# (alertchart / helm) and the ratio of the medians. Each pair runs the two commands back to
# back, alternating which goes first, so drift in machine load hits both alike. Times come
# from bash's $EPOCHREALTIME (no `date` process inside the timed interval). Figures and the
# machine they ran on: docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."

pairs=30
if [[ ${1:-} == -n ]]; then
    pairs=$2
    shift 2
fi

if [[ ! -f .tools/env.sh ]]; then
    echo "bench-render: .tools/env.sh is missing: run scripts/install-tools.sh first" >&2
    exit 2
fi
# shellcheck source=/dev/null
. .tools/env.sh
cargo build --release --locked --quiet
bin=$PWD/target/release/alertchart

if [[ $# -eq 0 ]]; then
    mapfile -t profiles < <("$bin" profiles | awk '{print $1}')
else
    profiles=("$@")
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now_us() { echo "${EPOCHREALTIME/./}"; }

# Median of the numbers on stdin (one a line), as a decimal with 3 places.
median() {
    sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) exit 1
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.3f\n", m
    }'
}

run_alertchart() { "$bin" render --profile "$1" --out "$2" 2>/dev/null; }
run_helm() { helm template ah "$1" >/dev/null; }

printf '%-10s %6s %14s %14s %14s %14s\n' profile pairs 'alertchart ms' 'helm ms' 'median ratio' 'ratio of med.'
for profile in "${profiles[@]}"; do
    chart=$work/$profile/chart
    run_alertchart "$profile" "$chart"
    chart=$chart/alert-history
    # Warm-up: page cache, helm's config and cache directories.
    for i in 1 2 3; do
        run_alertchart "$profile" "$work/$profile/warm-$i"
        run_helm "$chart"
    done
    rm -f "$work/$profile/tool" "$work/$profile/helm" "$work/$profile/ratio"
    for ((i = 0; i < pairs; i++)); do
        out=$work/$profile/out-$i
        if ((i % 2 == 0)); then
            t0=$(now_us); run_alertchart "$profile" "$out"; t1=$(now_us)
            run_helm "$chart"; t2=$(now_us)
            tool=$((t1 - t0)) helm=$((t2 - t1))
        else
            t0=$(now_us); run_helm "$chart"; t1=$(now_us)
            run_alertchart "$profile" "$out"; t2=$(now_us)
            helm=$((t1 - t0)) tool=$((t2 - t1))
        fi
        rm -rf "$out"
        echo "$tool" >>"$work/$profile/tool"
        echo "$helm" >>"$work/$profile/helm"
        awk -v a="$tool" -v b="$helm" 'BEGIN { printf "%.6f\n", a / b }' >>"$work/$profile/ratio"
    done
    tool_ms=$(awk '{ print $1 / 1000 }' "$work/$profile/tool" | median)
    helm_ms=$(awk '{ print $1 / 1000 }' "$work/$profile/helm" | median)
    ratio=$(median <"$work/$profile/ratio")
    printf '%-10s %6d %14s %14s %14s %14s\n' "$profile" "$pairs" "$tool_ms" "$helm_ms" "$ratio" \
        "$(awk -v a="$tool_ms" -v b="$helm_ms" 'BEGIN { printf "%.3f", a / b }')"
done
