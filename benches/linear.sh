#!/usr/bin/env bash
# Time against size: `flows --format json` on 1 and 2 threads over SYNTHETIC
# captures of growing size (examples/gen_bench.rs, seed 1), both shapes, with
# each capture's duration in capture time. bench.sh's "time linear" compares
# two sizes only; this shows where the time per byte changes. The connections
# of a capture's last 5 s of capture time (the linger of closed connections,
# `flow::LINGER_NS`) are finished together at its end: a capture shorter than
# that has all of them there.
#
#   benches/linear.sh [RUNS]            (default 5 runs per command; medians)
#
# The captures go to /tmp/osiscope-linear-* (about 1.6 GB; kept for later runs).
# Sizes are gen_bench's (M = MiB); "per 100 MB" is per 10^8 bytes of file.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
SIZES=${OSISCOPE_SIZES:-25M 50M 100M 200M 400M}
(( BASH_VERSINFO[0] >= 5 )) || { echo "linear.sh: needs bash 5 (EPOCHREALTIME)" >&2; exit 2; }
for tool in bc python3; do
    command -v "$tool" > /dev/null || { echo "linear.sh: needs $tool" >&2; exit 2; }
done
cargo build --release --quiet --bin osiscope --example gen_bench
BIN=target/release/osiscope
GEN=target/release/examples/gen_bench

# Seconds from the first packet to the last, read from the pcap records.
duration() {
    python3 - "$1" <<'EOF'
import struct, sys
with open(sys.argv[1], 'rb') as f:
    head = f.read(24)
    end = '<' if head[:4] in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
    nano = head[:4] in (b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\x3c\x4d')
    first = last = None
    while True:
        rec = f.read(16)
        if len(rec) < 16:
            break
        sec, frac, incl, _ = struct.unpack(end + 'IIII', rec)
        t = sec + frac / (1e9 if nano else 1e6)
        first = t if first is None else first
        last = t
        f.seek(incl, 1)
print('%.1f' % ((last or 0) - (first or 0)))
EOF
}

# Seconds per 10^8 bytes of a file of $2 bytes read in $1 seconds.
per() { printf '%.3f' "$(echo "scale=6; $1 * 100000000 / $2" | bc)"; }

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "| shape | size | capture time | 1 thread | per 100 MB | 2 threads | per 100 MB | 1 thread / 2 |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for shape in mixed chat; do
    opts=()
    [[ $shape == chat ]] && opts=(--no-deflate --small-messages)
    for size in $SIZES; do
        f=/tmp/osiscope-linear-$shape-$size.pcap
        [[ -f $f ]] || "$GEN" --out "$f" --size "$size" --seed 1 "${opts[@]}" > /dev/null
        bytes=$(stat -c %s "$f")
        t=()
        for threads in 1 2; do
            t[threads]=$(for _ in $(seq "$RUNS"); do
                a=$EPOCHREALTIME
                "$BIN" flows --format json --threads "$threads" "$f" > /dev/null
                b=$EPOCHREALTIME
                echo "$b - $a" | bc
            done | median)
        done
        one=$(printf '%.3f' "${t[1]}") two=$(printf '%.3f' "${t[2]}")
        ratio=$(printf '%.2f' "$(echo "scale=4; $one / $two" | bc)")
        echo "| $shape | $size | $(duration "$f") s | $one s | $(per "$one" "$bytes") s | $two s | $(per "$two" "$bytes") s | $ratio |"
    done
done
