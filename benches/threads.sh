#!/usr/bin/env bash
# How one run's work splits over its threads, for --threads 1, 2, 4 and 8:
# CPU time per thread from perf's samples (cpu-clock at 1000 Hz, so one sample
# is about one millisecond), and the wall time of a run without perf.
#
# On a machine with fewer CPUs than threads the wall time says little; the
# busiest thread's CPU time is then an estimate of the wall time on a machine
# with enough CPUs (the pipeline's critical path). It is an estimate, not a
# measurement: it leaves out the waits between threads.
#
#   benches/threads.sh [CAPTURE]        (default: the 100 MB benchmark capture)
#
# Needs perf (Debian: linux-perf) and a release build (cargo build --release).
set -euo pipefail
cd "$(dirname "$0")/.."
FILE=${1:-/tmp/osiscope-bench-100M.pcap}
BIN=${OSISCOPE_BIN:-target/release/osiscope}
THREADS=${OSISCOPE_THREADS:-1 2 4 8}
command -v perf > /dev/null || { echo "threads.sh: needs perf (Debian: linux-perf)" >&2; exit 2; }
[ -f "$FILE" ] || { echo "threads.sh: $FILE: no such file (benches/bench.sh makes it)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "threads.sh: $BIN: build it first (cargo build --release)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "capture: $FILE ($(nproc) CPUs here)"
echo
echo "| view | threads | wall | CPU, all threads | CPU per thread, busiest first | busiest |"
echo "|---|---:|---:|---:|---|---:|"
for view in "flows --format json" "packets" "packets --format json" "walk --format json"; do
    for t in $THREADS; do
        # shellcheck disable=SC2086
        /usr/bin/time -f '%e' -o "$tmp/wall" "$BIN" $view "$FILE" --threads "$t" > /dev/null
        # shellcheck disable=SC2086
        perf record -q -F 1000 -e cpu-clock -o "$tmp/perf.data" \
            "$BIN" $view "$FILE" --threads "$t" > /dev/null 2> "$tmp/err"
        perf report -i "$tmp/perf.data" --sort pid --stdio --show-nr-samples 2> /dev/null \
            | awk '!/^#/ && NF >= 3 { print $2 }' | sort -rn > "$tmp/samples"
        total=$(awk '{ s += $1 } END { printf "%.2f", s / 1000 }' "$tmp/samples")
        per=$(awk '{ printf "%s%.2f", (NR > 1 ? " / " : ""), $1 / 1000 }' "$tmp/samples")
        top=$(awk 'NR == 1 { printf "%.2f", $1 / 1000 }' "$tmp/samples")
        echo "| $view | $t | $(tail -1 "$tmp/wall") s | $total s | $per | $top s |"
    done
done
