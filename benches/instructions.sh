#!/usr/bin/env bash
# Counts the instructions two osiscope binaries execute for the one-thread
# benchmark commands on one capture (valgrind's cachegrind, no cache
# simulation). Unlike a time, the count of a single-threaded run does not
# move with the machine's load: it shows a change of a percent or two that
# the timings of a shared VM hide. It says nothing of cache misses, of
# threads, or of the kernel's share (reading the file), so confirm a change
# that matters with benches/compare.sh.
#
# Usage: benches/instructions.sh OLD_BIN NEW_BIN [CAPTURE]
#        ONLY=walk benches/instructions.sh …   (only the commands matching ONLY)
#
#   CAPTURE  default /tmp/osiscope-bench-100M.pcap (made by benches/bench.sh, or
#            target/release/examples/gen_bench --out F --size 100M --seed 1);
#            each run takes about 20 times as long as without valgrind
#
# Needs valgrind (apt-get install valgrind).
set -euo pipefail

OLD=${1:?usage: benches/instructions.sh OLD_BIN NEW_BIN [CAPTURE]}
NEW=${2:?usage: benches/instructions.sh OLD_BIN NEW_BIN [CAPTURE]}
F=${3:-/tmp/osiscope-bench-100M.pcap}
command -v valgrind >/dev/null || { echo "instructions.sh: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
[[ -f $F ]] || { echo "instructions.sh: no capture at $F" >&2; exit 2; }

COMMANDS=(
    "flows --format json --threads 1"
    "packets --threads 1"
    "packets --format json --threads 1"
    "walk --format json --threads 1"
)

# count BIN ARGS: the instructions the run executed.
count() {
    local bin=$1
    shift
    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
        "$bin" "$@" --no-progress "$F" 2>&1 >/dev/null |
        awk '/I *refs:/ { gsub(",", "", $NF); print $NF }'
}

# commas N: N with thousands separators.
commas() { echo "$1" | sed -e ':a' -e 's/\B[0-9]\{3\}\>/,&/' -e 'ta'; }

echo "capture: $F ($(stat -c %s "$F") bytes)"
echo "old: $OLD ($("$OLD" --version))"
echo "new: $NEW ($("$NEW" --version))"
echo
printf '| %-34s | %16s | %16s | %7s |\n' command "old instructions" "new instructions" "new/old"
printf '|%s|-----------------:|-----------------:|--------:|\n' "------------------------------------"
for cmd in "${COMMANDS[@]}"; do
    [[ -n ${ONLY:-} && $cmd != *$ONLY* ]] && continue
    read -ra args <<<"$cmd"
    a=$(count "$OLD" "${args[@]}")
    b=$(count "$NEW" "${args[@]}")
    printf '| %-34s | %16s | %16s | %7s |\n' "$cmd" "$(commas "$a")" "$(commas "$b")" \
        "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')"
done
