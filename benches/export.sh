#!/usr/bin/env bash
# Times `osiscope export` on several SYNTHETIC captures (examples/gen_bench.rs:
# made-up traffic, nothing captured or sent): one after another against all
# at once, with the peak memory of each run.
#
# Usage: benches/export.sh [--files N] [--size SIZE] [--runs N]
#
#   --files N    captures (default 8), seeds 1..N
#   --size SIZE  each capture's size, as gen_bench takes it (default 64M)
#   --runs N     runs per command; the table shows the median (default 3)
#
# Prints a Markdown table (wall seconds, peak RSS) for JSON Lines and Parquet:
#   alone    each capture exported by its own `osiscope export`, one after
#            another (each on the two threads of a single capture)
#   -j 1     one `osiscope export` of all captures, one worker
#   -j CPUS  one `osiscope export` of all captures, one worker per CPU
# and the ratios of the last to the first two. The captures are written to
# /tmp/osiscope-bench-export/ and reused; delete them when done.
set -euo pipefail

FILES=8
SIZE=64M
RUNS=3
while (($#)); do
    case $1 in
    --files) FILES=${2:?}; shift ;;
    --size) SIZE=${2:?}; shift ;;
    --runs) RUNS=${2:?}; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "export.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
DIR=/tmp/osiscope-bench-export
BIN=$DIR/bin
mkdir -p "$DIR/in" "$BIN"
echo "building osiscope and gen_bench (release)" >&2
cargo build --release --quiet --bin osiscope --example gen_bench
cp "$TARGET/release/osiscope" "$BIN/osiscope"
cp "$TARGET/release/examples/gen_bench" "$BIN/gen_bench"
OSI=$BIN/osiscope

for i in $(seq 1 "$FILES"); do
    f=$DIR/in/synthetic-$SIZE-$i.pcap
    [ -s "$f" ] || "$BIN/gen_bench" --out "$f" --size "$SIZE" --seed "$i" >/dev/null
done
CAPS=("$DIR"/in/synthetic-"$SIZE"-*.pcap)
CAPS=("${CAPS[@]:0:$FILES}")
CPUS=$(nproc)
TOTAL=$(du -cb "${CAPS[@]}" | tail -1 | cut -f1)

# Runs "$@" RUNS times; prints "median_wall max_rss_kib".
measure() {
    local walls=() rss=0 t
    for _ in $(seq 1 "$RUNS"); do
        rm -rf "$DIR/out"
        /usr/bin/time -f "%e %M" -o "$DIR/time" "$@" >/dev/null 2>&1
        t=$(tail -1 "$DIR/time")
        walls+=("${t% *}")
        ((${t#* } > rss)) && rss=${t#* }
    done
    printf '%s\n' "${walls[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p" | tr '\n' ' '
    echo "$rss"
}

# Each capture alone, one after another: the sum of the walls, the largest RSS.
alone() {
    local form=$1 walls=() rss=0 t sum
    for _ in $(seq 1 "$RUNS"); do
        rm -rf "$DIR/out"
        sum=0
        for c in "${CAPS[@]}"; do
            /usr/bin/time -f "%e %M" -o "$DIR/time" "$OSI" export "$c" --out "$DIR/out" --as "$form" >/dev/null 2>&1
            t=$(tail -1 "$DIR/time")
            sum=$(echo "$sum + ${t% *}" | bc)
            ((${t#* } > rss)) && rss=${t#* }
        done
        walls+=("$sum")
    done
    printf '%s\n' "${walls[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p" | tr '\n' ' '
    echo "$rss"
}

mib() { echo "$(($1 / 1024)) MiB"; }
ratio() { printf '%.2f' "$(echo "scale=4; $1 / $2" | bc)"; }

echo
echo "$FILES synthetic captures of $SIZE ($(echo "scale=1; $TOTAL / 1048576" | bc) MiB in all), $CPUS CPUs, medians of $RUNS; $($OSI --version)"
echo
echo "| form | how | wall | peak RSS |"
echo "|---|---|---:|---:|"
for form in jsonl parquet; do
    read -r a_w a_r < <(alone "$form")
    read -r one_w one_r < <(measure "$OSI" export "${CAPS[@]}" --out "$DIR/out" --as "$form" -j 1)
    read -r all_w all_r < <(measure "$OSI" export "${CAPS[@]}" --out "$DIR/out" --as "$form" -j "$CPUS")
    echo "| $form | each alone, one after another | ${a_w} s | $(mib "$a_r") |"
    echo "| $form | all, \`-j 1\` | ${one_w} s | $(mib "$one_r") |"
    echo "| $form | all, \`-j $CPUS\` | ${all_w} s | $(mib "$all_r") |"
    echo "| $form | \`-j $CPUS\` ÷ alone; ÷ \`-j 1\` | $(ratio "$all_w" "$a_w")×; $(ratio "$all_w" "$one_w")× | |"
done
rm -rf "$DIR/out"
