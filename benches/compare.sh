#!/usr/bin/env bash
# Compares two osiscope binaries side by side on one capture: the time and
# peak memory of the benchmark commands (flows, packets and walk as JSON, on
# two threads and on one), runs of the two interleaved so that a change in the
# machine's load hits both alike. For a redesign that must not cost speed:
# build the commit before it and the commit after, then compare.
#
# Usage: benches/compare.sh OLD_BIN NEW_BIN [CAPTURE] [RUNS]
#        ONLY=walk benches/compare.sh …   (only the commands matching ONLY)
#
#   CAPTURE  default /tmp/osiscope-bench-1G.pcap (made by benches/bench.sh, or
#            target/release/examples/gen_bench --out F --size 1G --seed 1)
#   RUNS     runs per command and binary; the table shows the medians (default 5)
#
# Example (the binary of the commit before, then the current one):
#   git worktree add /tmp/osiscope-old HEAD~1 && (cd /tmp/osiscope-old && cargo build --release)
#   cargo build --release
#   benches/compare.sh /tmp/osiscope-old/target/release/osiscope target/release/osiscope
set -euo pipefail

OLD=${1:?usage: benches/compare.sh OLD_BIN NEW_BIN [CAPTURE] [RUNS]}
NEW=${2:?usage: benches/compare.sh OLD_BIN NEW_BIN [CAPTURE] [RUNS]}
F=${3:-/tmp/osiscope-bench-1G.pcap}
RUNS=${4:-5}
[[ -x /usr/bin/time ]] || { echo "compare.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
[[ -f $F ]] || { echo "compare.sh: no capture at $F" >&2; exit 2; }

COMMANDS=(
    "flows --format json"
    "flows --format json --threads 1"
    "packets --format json"
    "packets --format json --threads 1"
    "walk --format json"
    "walk --format json --threads 1"
)

median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
maximum() { sort -n | tail -n1; }

# one BIN ARGS: prints "wall_seconds peak_rss_kib cpu_seconds" (user + system).
one() {
    local bin=$1
    shift
    local tf
    tf=$(mktemp)
    /usr/bin/time -f '%e %M %U %S' -o "$tf" "$bin" "$@" --no-progress "$F" >/dev/null
    tail -n1 "$tf" | awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }'
    rm -f "$tf"
}

cat "$F" >/dev/null # the page cache holds the file for every run
echo "capture: $F ($(stat -c %s "$F") bytes), $RUNS runs each, interleaved"
echo "old: $OLD ($("$OLD" --version))"
echo "new: $NEW ($("$NEW" --version))"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b / (a < 0.01 ? 0.01 : a) }'; }
printf '| %-34s | %7s | %7s | %7s | %7s | %7s | %7s | %8s | %8s | %7s |\n' command \
    "old (s)" "new (s)" "new/old" "old CPU" "new CPU" "new/old" "old RSS" "new RSS" "new/old"
printf '|%s|--------:|--------:|--------:|--------:|--------:|--------:|---------:|---------:|--------:|\n' "------------------------------------"
for cmd in "${COMMANDS[@]}"; do
    [[ -n ${ONLY:-} && $cmd != *$ONLY* ]] && continue
    read -ra args <<<"$cmd"
    ow="" orss="" oc="" nw="" nrss="" nc=""
    for ((i = 0; i < RUNS; i++)); do
        read -r w r c < <(one "$OLD" "${args[@]}")
        ow+="$w"$'\n'
        orss+="$r"$'\n'
        oc+="$c"$'\n'
        read -r w r c < <(one "$NEW" "${args[@]}")
        nw+="$w"$'\n'
        nrss+="$r"$'\n'
        nc+="$c"$'\n'
    done
    a=$(printf '%s' "$ow" | median)
    b=$(printf '%s' "$nw" | median)
    ca=$(printf '%s' "$oc" | median)
    cb=$(printf '%s' "$nc" | median)
    ra=$(printf '%s' "$orss" | maximum)
    rb=$(printf '%s' "$nrss" | maximum)
    printf '| %-34s | %7s | %7s | %7s | %7s | %7s | %7s | %4.0f MiB | %4.0f MiB | %7s |\n' "$cmd" \
        "$a" "$b" "$(ratio "$a" "$b")" "$ca" "$cb" "$(ratio "$ca" "$cb")" \
        "$(awk -v k="$ra" 'BEGIN { print k / 1024 }')" "$(awk -v k="$rb" 'BEGIN { print k / 1024 }')" \
        "$(ratio "$ra" "$rb")"
done
echo
echo "Wall and CPU (user + system) time: medians of $RUNS runs; peak RSS: the largest of them."
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
