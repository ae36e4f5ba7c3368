#!/usr/bin/env bash
# What decrypting TLS costs: the same kind of SYNTHETIC traffic
# (examples/gen_bench.rs, seed 1) read in the clear, and wrapped in TLS 1.3
# (AES-128-GCM) and decrypted with its key log (gen_bench --tls), side by side.
# Runs of the two interleave, so that the machine's load hits both alike.
#
# Usage: benches/tls.sh [SIZE] [RUNS]     SIZE default 1G, RUNS default 3
#
# The captures are /tmp/osiscope-bench-SIZE.pcap (shared with bench.sh) and
# /tmp/osiscope-bench-SIZE-tls.pcap with /tmp/osiscope-bench-SIZE-tls.keys;
# remove them with: rm -rf /tmp/osiscope-bench-*
set -euo pipefail
SIZE=${1:-1G}
RUNS=${2:-3}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
[[ -x /usr/bin/time ]] || { echo "tls.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
cargo build --release --quiet --bin osiscope --example gen_bench
BIN=$(mktemp -d /tmp/osiscope-tls-bench.XXXXXX)
trap 'rm -rf "$BIN"' EXIT
cp "$TARGET/release/osiscope" "$TARGET/release/examples/gen_bench" "$BIN/"
CLEAR=/tmp/osiscope-bench-$SIZE.pcap
TLS=/tmp/osiscope-bench-$SIZE-tls.pcap
KEYS=/tmp/osiscope-bench-$SIZE-tls.keys
# The clear file may come from bench.sh; remade here only when missing.
[[ -f $CLEAR ]] || "$BIN/gen_bench" --out "$CLEAR" --size "$SIZE" --seed 1 >/dev/null
[[ -f $TLS && -f $KEYS ]] || "$BIN/gen_bench" --out "$TLS" --size "$SIZE" --seed 1 --tls "$KEYS" >/dev/null

median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
maximum() { sort -n | tail -n1; }
# run FILE ARGS...: prints "wall_seconds peak_rss_kib"
run() {
    local f=$1 tf
    shift
    tf=$(mktemp)
    /usr/bin/time -f '%e %M' -o "$tf" "$BIN/osiscope" "$@" --no-progress "$f" >/dev/null
    tail -n1 "$tf"
    rm -f "$tf"
}

cat "$CLEAR" "$TLS" >/dev/null
echo "clear: $CLEAR ($(stat -c %s "$CLEAR") bytes)"
echo "tls:   $TLS ($(stat -c %s "$TLS") bytes), key log $KEYS ($(wc -l <"$KEYS") lines)"
echo "osiscope $("$BIN/osiscope" --version | cut -d' ' -f2-), $RUNS runs each, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '| %-22s | %9s | %9s | %9s | %8s | %8s |\n' command "clear (s)" "TLS (s)" "TLS/clear" "clear RSS" "TLS RSS"
printf '|%s|----------:|----------:|----------:|---------:|---------:|\n' "------------------------"
for view in "flows --format json" "packets --format json" "walk --format json"; do
    read -ra args <<<"$view"
    cw="" cr="" tw="" tr=""
    for ((i = 0; i < RUNS; i++)); do
        read -r w r < <(run "$CLEAR" "${args[@]}")
        cw+="$w"$'\n'
        cr+="$r"$'\n'
        read -r w r < <(run "$TLS" "${args[@]}" --keylog "$KEYS")
        tw+="$w"$'\n'
        tr+="$r"$'\n'
    done
    a=$(printf '%s' "$cw" | median)
    b=$(printf '%s' "$tw" | median)
    printf '| %-22s | %9s | %9s | %9s | %4.0f MiB | %4.0f MiB |\n' "$view" "$a" "$b" \
        "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / (a < 0.01 ? 0.01 : a) }')" \
        "$(printf '%s' "$cr" | maximum | awk '{ print $1 / 1024 }')" \
        "$(printf '%s' "$tr" | maximum | awk '{ print $1 / 1024 }')"
done
echo
echo "Wall time: median of $RUNS runs; RSS: the largest. Two threads (the default on 2 CPUs)."
