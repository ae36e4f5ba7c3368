#!/usr/bin/env bash
# Compares two osiscope binaries side by side on one capture: the time and
# peak memory of the benchmark commands (flows, packets and walk as JSON, and
# packets as lines, on two threads and on one), runs of the two interleaved so that a change in the
# machine's load hits both alike. For a redesign that must not cost speed:
# build the commit before it and the commit after, then compare.
#
# Usage: benches/compare.sh OLD_BIN NEW_BIN [CAPTURE] [RUNS]
#        ONLY=walk benches/compare.sh …   (only the commands matching ONLY)
#        COUNT=instructions benches/compare.sh OLD_BIN NEW_BIN [CAPTURE]
#
#   CAPTURE  default /tmp/osiscope-bench-1G.pcap (made by benches/bench.sh, or
#            target/release/examples/gen_bench --out F --size 1G --seed 1);
#            with COUNT=instructions, /tmp/osiscope-bench-100M.pcap
#   RUNS     runs per command and binary; the table shows the medians (default 5)
#
# COUNT=instructions counts instead the instructions each binary executes for
# the one-thread commands (valgrind's cachegrind, no cache simulation; one run
# each, about 20 times as long as without valgrind; apt-get install valgrind).
# Unlike a time, the count of a one-thread run does not move with the
# machine's load, so a change of a percent shows that a shared VM's timings
# hide. It sees no cache misses, threads or kernel work (reading the file):
# confirm a change that matters with the times.
#
# Example (the binary of the commit before, then the current one):
#   git worktree add /tmp/osiscope-old HEAD~1 && (cd /tmp/osiscope-old && cargo build --release)
#   cargo build --release
#   benches/compare.sh /tmp/osiscope-old/target/release/osiscope target/release/osiscope
set -euo pipefail

OLD=${1:?usage: benches/compare.sh OLD_BIN NEW_BIN [CAPTURE] [RUNS]}
NEW=${2:?usage: benches/compare.sh OLD_BIN NEW_BIN [CAPTURE] [RUNS]}
COUNT=${COUNT:-time}
case $COUNT in
time) F=${3:-/tmp/osiscope-bench-1G.pcap} need=/usr/bin/time pkg=time ;;
instructions) F=${3:-/tmp/osiscope-bench-100M.pcap} need=valgrind pkg=valgrind ;;
*) echo "compare.sh: COUNT is time or instructions, not $COUNT" >&2; exit 2 ;;
esac
RUNS=${4:-5}
command -v "$need" >/dev/null || { echo "compare.sh: needs $need (apt-get install $pkg)" >&2; exit 2; }
[[ -f $F ]] || { echo "compare.sh: no capture at $F" >&2; exit 2; }

COMMANDS=(
    "flows --format json"
    "flows --format json --threads 1"
    "packets --format json"
    "packets --format json --threads 1"
    "walk --format json"
    "walk --format json --threads 1"
    "packets"
    "packets --threads 1"
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

# instructions BIN ARGS: the instructions the run executed.
instructions() {
    local bin=$1
    shift
    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
        "$bin" "$@" --no-progress "$F" 2>&1 >/dev/null |
        awk '/I *refs:/ { gsub(",", "", $NF); print $NF }'
}

# commas N: N with thousands separators.
commas() { echo "$1" | sed -e ':a' -e 's/\B[0-9]\{3\}\>/,&/' -e 'ta'; }

if [[ $COUNT == instructions ]]; then
    echo "capture: $F ($(stat -c %s "$F") bytes), instructions of one run each"
    echo "old: $OLD ($("$OLD" --version))"
    echo "new: $NEW ($("$NEW" --version))"
    echo
    printf '| %-34s | %16s | %16s | %7s |\n' command "old instructions" "new instructions" "new/old"
    printf '|%s|-----------------:|-----------------:|--------:|\n' "------------------------------------"
    for cmd in "${COMMANDS[@]}"; do
        [[ $cmd != *"--threads 1"* ]] && continue
        [[ -n ${ONLY:-} && $cmd != *$ONLY* ]] && continue
        read -ra args <<<"$cmd"
        a=$(instructions "$OLD" "${args[@]}")
        b=$(instructions "$NEW" "${args[@]}")
        printf '| %-34s | %16s | %16s | %7s |\n' "$cmd" "$(commas "$a")" "$(commas "$b")" \
            "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')"
    done
    exit 0
fi

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
