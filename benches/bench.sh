#!/usr/bin/env bash
# Benchmarks osiscope against cat, tcpdump and tshark on SYNTHETIC captures
# written by examples/gen_bench.rs (made-up traffic: nothing is captured or sent),
# and against examples/floor.rs, the least work a reader of WebSocket captures
# must do (read, slice, a connection table, unmask every payload byte; with
# --inflate also inflate permessage-deflate messages).
#
# Usage: benches/bench.sh [--quick] [--shape mixed|chat|both] [--tshark-1g | --no-tshark-1g]
#                         [--runs N] [--seed N]
#
#   --quick          only the 100 MiB files
#   --shape S        which traffic (default both):
#                    mixed: messages up to 150 KB, 1 connection in 4 compressed
#                    (most bytes in large messages: per-byte work weighs most);
#                    chat: no compression, every message under 2,000 bytes
#                    (about 2.7 M packets per GiB: per-packet work weighs most)
#   --tshark-1g      also run the two tshark commands on the 1 GiB file
#                    (about a minute and 2.3 GB of RAM per run)
#   --no-tshark-1g   do not run tshark on the 1 GiB file (the default)
#   --runs N         runs per command; the table shows the median (default 3)
#   --seed N         generator seed (default 1)
#
# The captures are written to /tmp/osiscope-bench-100M.pcap and
# /tmp/osiscope-bench-1G.pcap (chat: /tmp/osiscope-bench-chat-100M.pcap and
# /tmp/osiscope-bench-chat-1G.pcap), each next to a .stamp file recording the generator
# arguments, a hash of the generator source and the file size. A capture is
# reused when the stamp matches and the file still has the recorded size.
# Delete them when done: rm -rf /tmp/osiscope-bench-*
set -euo pipefail

QUICK=0
SHAPE=both
TSHARK_1G=0
RUNS=3
SEED=1

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
}

while (($#)); do
    case $1 in
    --quick) QUICK=1 ;;
    --shape)
        SHAPE=${2:?--shape needs mixed, chat or both}
        [[ $SHAPE == mixed || $SHAPE == chat || $SHAPE == both ]] || {
            echo "bench.sh: --shape takes mixed, chat or both, not $SHAPE" >&2
            exit 2
        }
        shift
        ;;
    --tshark-1g) TSHARK_1G=1 ;;
    --no-tshark-1g) TSHARK_1G=0 ;;
    --runs)
        RUNS=${2:?--runs needs a number}
        shift
        ;;
    --seed)
        SEED=${2:?--seed needs a number}
        shift
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        echo "bench.sh: unknown option $1" >&2
        usage >&2
        exit 2
        ;;
    esac
    shift
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
# The binaries are copied here after the build, so that a rebuild of target/
# during the run cannot change what is being measured.
BIN=/tmp/osiscope-bench-bin
OSISCOPE=$BIN/osiscope
GEN=$BIN/gen_bench
FLOOR=$BIN/floor
LOG=/tmp/osiscope-bench.log
: >"$LOG"

# --- tools -----------------------------------------------------------------
if [[ -z ${EPOCHREALTIME:-} ]]; then
    echo "bench.sh: needs bash 5 or later (EPOCHREALTIME, to time runs to the microsecond)" >&2
    exit 2
fi
missing=()
[[ -x /usr/bin/time ]] || missing+=(time)
command -v tcpdump >/dev/null 2>&1 || missing+=(tcpdump)
command -v tshark >/dev/null 2>&1 || missing+=(tshark)
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    SUDO=()
    if [[ $(id -u) -ne 0 ]]; then SUDO=(sudo); fi
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# --- build -------------------------------------------------------------------
echo "building osiscope, gen_bench and floor (release)"
cargo build --release --quiet --bin osiscope --example gen_bench --example floor
mkdir -p "$BIN"
cp "$TARGET/release/osiscope" "$OSISCOPE"
cp "$TARGET/release/examples/gen_bench" "$GEN"
cp "$TARGET/release/examples/floor" "$FLOOR"
echo "osiscope $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src Cargo.toml 2>/dev/null || echo ' (modified)'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# --- captures ----------------------------------------------------------------
GEN_HASH=$(sha256sum examples/gen_bench.rs | cut -c1-16)

# generate LABEL: writes /tmp/osiscope-bench-LABEL.pcap unless an identical one is there.
# LABEL is a size (100M, 1G), with chat- before it for the chat shape.
generate() {
    local label=$1
    local f=/tmp/osiscope-bench-$label.pcap
    local stamp=/tmp/osiscope-bench-$label.stamp
    local -a shape=()
    [[ $label == chat-* ]] && shape=(--no-deflate --small-messages)
    local want="size=${label#chat-} seed=$SEED gen=$GEN_HASH${shape[*]:+ ${shape[*]}}"
    if [[ -f $f && -f $stamp && $(sed -n 1p "$stamp") == "$want" &&
        $(sed -n 2p "$stamp") == "$(stat -c %s "$f")" ]]; then
        echo "reusing $f ($(stat -c %s "$f") bytes)"
        return
    fi
    echo "generating $f"
    rm -f "$stamp"
    local stats
    stats=$("$GEN" --out "$f" --size "${label#chat-}" --seed "$SEED" "${shape[@]}")
    printf '%s\n%s\n%s\n' "$want" "$(stat -c %s "$f")" "$stats" >"$stamp"
}

SIZES=(100M)
((QUICK)) || SIZES+=(1G)
PREFIXES=()
[[ $SHAPE != chat ]] && PREFIXES+=("")
[[ $SHAPE != mixed ]] && PREFIXES+=(chat-)
FILES=()
for p in "${PREFIXES[@]}"; do for s in "${SIZES[@]}"; do FILES+=("$p$s"); done; done
for label in "${FILES[@]}"; do generate "$label"; done

# --- measurement ---------------------------------------------------------------
# Commands, fields separated by '|'; @F@ is replaced by the capture.
COMMANDS=(
    "cat|@F@"
    "$FLOOR|@F@"
    "$FLOOR|--inflate|@F@"
    "tcpdump|-n|-r|@F@|tcp[tcpflags] & tcp-syn != 0"
    "tcpdump|-n|-r|@F@"
    "tshark|-n|-r|@F@|-q|-z|conv,tcp"
    "tshark|-n|-r|@F@|-Y|websocket|-T|fields|-e|frame.number|-e|websocket.opcode|-e|websocket.payload_length"
    "$OSISCOPE|flows|@F@|--format|json"
    "$OSISCOPE|packets|@F@|--format|json"
    "$OSISCOPE|walk|@F@|--format|json"
    "$OSISCOPE|messages|@F@|--format|json"
    "$OSISCOPE|flows|@F@|--format|json|--threads|1"
    "$OSISCOPE|packets|@F@|--format|json|--threads|1"
    "$OSISCOPE|walk|@F@|--format|json|--threads|1"
    "$OSISCOPE|packets|@F@"
    "$OSISCOPE|export|@F@|--out|/tmp/osiscope-bench-export-out"
    "$OSISCOPE|export|@F@|--out|/tmp/osiscope-bench-export-out|--as|parquet"
)

# label CMD: how the command is shown in the table.
label_of() {
    local -a argv
    IFS='|' read -ra argv <<<"$1"
    local out="" a
    for a in "${argv[@]}"; do
        [[ $a == "$OSISCOPE" ]] && a=osiscope
        [[ $a == "$FLOOR" ]] && a=floor
        [[ $a == @F@ ]] && a=F
        [[ $a == *" "* ]] && a="'$a'"
        out+="${out:+ }$a"
    done
    printf '%s > /dev/null' "$out"
}

median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
maximum() { sort -n | tail -n1; }

# once CMD FILE: runs CMD on FILE once; prints "wall rss_kb", or "FAILED FAILED".
# The wall time is read from bash's clock to the microsecond (GNU time's %e
# has 10 ms steps: 7 % of a 0.14 s run); it includes starting /usr/bin/time,
# about a millisecond, alike for every command. Peak RSS is GNU time's %M.
once() {
    local cmd=${1//@F@/$2}
    local -a argv
    IFS='|' read -ra argv <<<"$cmd"
    local tf t0 t1
    tf=$(mktemp /tmp/osiscope-bench-time.XXXXXX)
    t0=${EPOCHREALTIME/,/.}
    if ! /usr/bin/time -f '%M' -o "$tf" "${argv[@]}" >/dev/null 2>>"$LOG"; then
        echo "FAILED: ${argv[*]} (see $LOG)" >&2
        rm -f "$tf"
        echo "FAILED FAILED"
        return
    fi
    t1=${EPOCHREALTIME/,/.}
    awk -v a="$t0" -v b="$t1" -v m="$(tail -n1 "$tf")" 'BEGIN { printf "%.3f %s\n", b - a, m }'
    rm -f "$tf"
}

fmt_rss() { awk -v k="$1" 'BEGIN { if (k >= 1048576) printf "%.2f GiB", k/1048576; else printf "%.0f MiB", k/1024 }'; }

REPORT=/tmp/osiscope-bench-results.md
: >"$REPORT"
# Results by "label|command name": wall seconds and peak RSS in KiB.
declare -A WALL=() RSS=() SIZE=()

for label in "${FILES[@]}"; do
    f=/tmp/osiscope-bench-$label.pcap
    bytes=$(stat -c %s "$f")
    stamp=/tmp/osiscope-bench-$label.stamp
    echo
    echo "== $f: $bytes bytes =="
    sed -n '4,$p' "$stamp" | sed 's/^/   /'
    cat "$f" >/dev/null # warm the page cache: every command reads from memory
    echo "   load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    declare -a names=() walls=() rsses=()
    # The runs are interleaved: round after round of every command, so that
    # a slow spell of the machine (a busy neighbour) falls on all commands
    # alike instead of on the few measured during it. A command that fails
    # once is reported FAILED.
    declare -A times=() mems=()
    for ((round = 0; round < RUNS; round++)); do
        echo "   round $((round + 1)) of $RUNS, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
        for i in "${!COMMANDS[@]}"; do
            cmd=${COMMANDS[$i]}
            [[ $label == *1G && $cmd == tshark* && $TSHARK_1G -eq 0 ]] && continue
            [[ ${times[$i]:-} == *FAILED* ]] && continue
            printf '   %-60.60s ' "$(label_of "$cmd")" >&2
            read -r wall rss < <(once "$cmd" "$f")
            printf '%s s, %s KiB\n' "$wall" "$rss" >&2
            times[$i]+="$wall"$'\n'
            mems[$i]+="$rss"$'\n'
        done
    done
    for i in "${!COMMANDS[@]}"; do
        name=$(label_of "${COMMANDS[$i]}")
        names+=("$name")
        if [[ -z ${times[$i]:-} ]]; then
            walls+=(skipped)
            rsses+=(skipped)
            continue
        fi
        if [[ ${times[$i]} == *FAILED* ]]; then
            wall=FAILED
            rss=FAILED
        else
            wall=$(printf '%s' "${times[$i]}" | median)
            rss=$(printf '%s' "${mems[$i]}" | maximum)
        fi
        walls+=("$wall")
        rsses+=("$rss")
        WALL["$label|$name"]=$wall
        RSS["$label|$name"]=$rss
    done
    unset times mems
    SIZE[$label]=$bytes
    # Reference: osiscope flows.
    ref=""
    for i in "${!names[@]}"; do
        [[ ${names[$i]} == "osiscope flows F --format json > /dev/null" ]] && ref=${walls[$i]}
    done
    width=7
    for n in "${names[@]}"; do ((${#n} + 2 > width)) && width=$((${#n} + 2)); done
    dashes=$(printf '%*s' "$width" '' | tr ' ' -)
    {
        echo
        echo "### $label: $f ($bytes bytes, median of $RUNS interleaved runs)"
        echo
        printf '| %-*s | %8s | %6s | %9s | %17s |\n' "$width" command "wall (s)" "MB/s" "peak RSS" "vs osiscope flows"
        printf '|-%s-|---------:|-------:|----------:|------------------:|\n' "$dashes"
        for i in "${!names[@]}"; do
            w=${walls[$i]}
            r=${rsses[$i]}
            if [[ $w == skipped || $w == FAILED ]]; then
                printf '| %-*s | %8s | %6s | %9s | %17s |\n' "$width" "\`${names[$i]}\`" "$w" "" "" ""
                continue
            fi
            mbs=$(awk -v b="$bytes" -v w="$w" 'BEGIN { if (w < 0.01) w = 0.01; printf "%.0f", b/1e6/w }')
            ratio=""
            if [[ -n $ref && $ref != FAILED ]]; then
                ratio=$(awk -v w="$w" -v r="$ref" 'BEGIN { if (r < 0.01) r = 0.01; if (w < 0.01) w = 0.01; printf "%.2f×", w/r }')
            fi
            printf '| %-*s | %8s | %6s | %9s | %17s |\n' "$width" "\`${names[$i]}\`" "$w" "$mbs" "$(fmt_rss "$r")" "$ratio"
        done
    } | tee -a "$REPORT"
    unset names walls rsses
done

# --- the targets ---------------------------------------------------------------
# ratio LABEL A B: wall(A) / wall(B), or "–" when either is missing.
ratio() {
    local a=${WALL["$1|$2"]:-} b=${WALL["$1|$3"]:-}
    if [[ -z $a || -z $b || $a == skipped || $b == skipped || $a == FAILED || $b == FAILED ]]; then
        echo "–"
        return
    fi
    awk -v a="$a" -v b="$b" 'BEGIN { if (a < 0.01) a = 0.01; if (b < 0.01) b = 0.01; printf "%.2f", a/b }'
}
# verdict VALUE OP LIMIT: "yes"/"no" (or "–" without a value).
verdict() {
    [[ $1 == "–" ]] && { echo "–"; return; }
    awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN { ok = (op == ">=") ? v >= l : v <= l; print ok ? "yes" : "no" }'
}
FLOWS="osiscope flows F --format json > /dev/null"
FLOWS1="osiscope flows F --format json --threads 1 > /dev/null"
PACKETS="osiscope packets F --format json > /dev/null"
PACKETS1="osiscope packets F --format json --threads 1 > /dev/null"
WALK="osiscope walk F --format json > /dev/null"
MESSAGES="osiscope messages F --format json > /dev/null"
TSWS="tshark -n -r F -Y websocket -T fields -e frame.number -e websocket.opcode -e websocket.payload_length > /dev/null"
TSCONV="tshark -n -r F -q -z conv,tcp > /dev/null"
TCPDUMP="tcpdump -n -r F > /dev/null"
CAT="cat F > /dev/null"
FLOORCMD="floor F > /dev/null"
FLOOR_INFLATE="floor --inflate F > /dev/null"
PACKETS_TEXT="osiscope packets F > /dev/null"
EXPORT="osiscope export F --out /tmp/osiscope-bench-export-out > /dev/null"
EXPORT_PQ="osiscope export F --out /tmp/osiscope-bench-export-out --as parquet > /dev/null"
{
    echo
    echo "### Targets (issue: speed, round two)"
    echo
    echo "| file | target | measured | met |"
    echo "|---|---|---:|:---:|"
    # osiscope's default: one thread per CPU, at most 8.
    cores=$(nproc)
    ((cores > 8)) && cores=8
    for label in "${FILES[@]}"; do
        want=15
        [[ $label == *1G ]] && want=25
        r=$(ratio "$label" "$TSCONV" "$FLOWS")
        echo "| $label | flows ≥ ${want}× faster than tshark -z conv,tcp | ${r}× | $(verdict "$r" ">=" "$want") |"
        r=$(ratio "$label" "$FLOWS1" "$FLOWS")
        echo "| $label | flows on $cores cores ≥ 1.8× one thread | ${r}× | $(verdict "$r" ">=" 1.8) |"
        r=$(ratio "$label" "$FLOWS1" "$FLOORCMD")
        echo "| $label | flows on one thread within 3× the floor loop | ${r}× | $(verdict "$r" "<=" 3) |"
        r=$(ratio "$label" "$FLOWS1" "$FLOOR_INFLATE")
        echo "| $label | flows on one thread / the floor loop that also inflates (information) | ${r}× | |"
        rss=${RSS["$label|$FLOWS"]:-0}
        m=$(awk -v k="$rss" 'BEGIN { printf "%.0f", k/1024 }')
        echo "| $label | flows peak RSS ≤ 64 MiB | $m MiB | $(verdict "$m" "<=" 64) |"
        r=$(ratio "$label" "$TCPDUMP" "$PACKETS_TEXT")
        echo "| $label | packets (text) ≥ 2× faster than tcpdump -n -r | ${r}× | $(verdict "$r" ">=" 2) |"
        r=$(ratio "$label" "$TCPDUMP" "$PACKETS")
        echo "| $label | packets --format json at least as fast as tcpdump -n -r | ${r}× | $(verdict "$r" ">=" 1) |"
        r=$(ratio "$label" "$WALK" "$FLOWS")
        echo "| $label | walk ≤ 2× flows | ${r}× | $(verdict "$r" "<=" 2) |"
        rss=${RSS["$label|$WALK"]:-0}
        m=$(awk -v k="$rss" 'BEGIN { printf "%.0f", k/1024 }')
        echo "| $label | walk peak RSS ≤ 128 MiB | $m MiB | $(verdict "$m" "<=" 128) |"
        r=$(ratio "$label" "$MESSAGES" "$WALK")
        echo "| $label | messages / walk (information) | ${r}× | |"
        r=$(ratio "$label" "$EXPORT" "$FLOWS")
        echo "| $label | export (JSON Lines) / flows (information) | ${r}× | |"
        r=$(ratio "$label" "$EXPORT_PQ" "$FLOWS")
        echo "| $label | export --as parquet / flows (information) | ${r}× | |"
        r=$(ratio "$label" "$PACKETS1" "$PACKETS")
        echo "| $label | packets: one thread / $cores threads (information) | ${r}× | |"
    done
    for p in "${PREFIXES[@]}"; do
        [[ -n ${SIZE[${p}1G]:-} && -n ${SIZE[${p}100M]:-} ]] || continue
        for cmd in "$FLOWS" "$PACKETS" "$WALK"; do
            a=${WALL["${p}100M|$cmd"]:-} b=${WALL["${p}1G|$cmd"]:-}
            [[ -z $a || -z $b ]] && continue
            t=$(awk -v a="$a" -v b="$b" -v sa="${SIZE[${p}100M]}" -v sb="${SIZE[${p}1G]}" 'BEGIN { printf "%.2f", (b/a) / (sb/sa) }')
            ok=$(awk -v t="$t" 'BEGIN { print (t >= 0.90 && t <= 1.10) ? "yes" : "no" }')
            echo "| ${p}100M→1G | \`${cmd% > /dev/null}\`: time grows with the bytes (1.00 = linear, ±10 %) | $t | $ok |"
            ra=${RSS["${p}100M|$cmd"]:-0} rb=${RSS["${p}1G|$cmd"]:-0}
            d=$(awk -v a="$ra" -v b="$rb" 'BEGIN { printf "%+.0f", (b-a)/1024 }')
            echo "| ${p}100M→1G | \`${cmd% > /dev/null}\`: peak RSS change | $d MiB | |"
        done
    done
} | tee -a "$REPORT"

echo
echo "MB = 10^6 bytes. Wall time is the median of $RUNS runs (interleaved: round after round of every command), peak RSS the largest of them."
echo "Tables also written to $REPORT; tool output and errors to $LOG."
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "The captures stay in /tmp for later runs; remove them with: rm -rf /tmp/osiscope-bench-*"
