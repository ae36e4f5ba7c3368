#!/usr/bin/env bash
# Builds the fuzz targets and runs each in turn for a fixed time, one process
# at a time at low priority (the machine is shared), then prints one table row
# per target.
#
# Usage: fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]
#   default: 300 seconds, every target.
#
# Limits: -rss_limit_mb=512 and -timeout=10 (seconds per input; 30 for
# pipeline, whose inputs are whole captures of up to 1 MB run through every
# view: up to 7 s each under AddressSanitizer on an idle core), so memory
# blow-ups and hangs are findings, not stalls. Artifacts (crashing, leaking,
# slow or memory-hungry inputs) go to fuzz/artifacts/<target>/, new corpus
# entries to fuzz/corpus/<target>/, the libFuzzer log and a coverage
# timeline (sampled every 2 s) to fuzz/logs/<target>/.
#
# Columns: execs (libFuzzer's number_of_executed_units), cov (coverage
# points), ft (features) and corpus (inputs kept/their size) from the last
# status line, seconds run, seconds since the last NEW line (new features) and since
# the last rise of cov, and the outcome: clean, or crash/oom/timeout/leak with
# the artifact.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
all=(capture decode reassembly http websocket socketio pipeline tls)
secs=${1:-300}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

cd "$here"
# --debug-assertions: overflow checks too, so arithmetic that would wrap in a
# release build is a finding. AddressSanitizer is cargo-fuzz's default.
nice -n 10 cargo +nightly fuzz build --release --debug-assertions >&2
host=$(rustc +nightly -vV | sed -n 's/^host: //p')
bindir="$here/target/$host/release"

for t in "${targets[@]}"; do
    if [ -z "$(ls -A "corpus/$t" 2>/dev/null)" ]; then
        "$here/seed.sh" >&2
        break
    fi
done

rows=()
for t in "${targets[@]}"; do
    logdir="$here/logs/$t"
    art="$here/artifacts/$t"
    mkdir -p "$logdir" "$art" "corpus/$t"
    rm -f "$logdir"/fuzz-*.log "$logdir/timeline"
    before=$(ls "$art" | wc -l)
    limit=10
    [ "$t" = pipeline ] && limit=30
    echo "== $t: ${secs}s" >&2
    start=$(date +%s)
    # -jobs=1 -workers=1: libFuzzer runs one child process, which writes
    # fuzz-0.log in the working directory.
    # A small quarantine: AddressSanitizer's default (256 MB of freed blocks
    # kept to catch use after free) counts in the RSS and alone trips the
    # 512 MB limit on the larger captures.
    (
        cd "$logdir" &&
            export ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=16}" &&
            exec nice -n 10 "$bindir/$t" -jobs=1 -workers=1 -max_total_time="$secs" \
                -rss_limit_mb=512 -timeout="$limit" -print_final_stats=1 \
                -artifact_prefix="$art/" "$here/corpus/$t"
    ) >"$logdir/driver.log" 2>&1 &
    pid=$!
    # Coverage timeline: elapsed seconds, NEW lines so far, cov, ft.
    while kill -0 "$pid" 2>/dev/null; do
        sleep 2
        log="$logdir/fuzz-0.log"
        [ -f "$log" ] || continue
        now=$(($(date +%s) - start))
        news=$(grep -c '	NEW ' "$log" || true)
        last=$(grep -E '^#[0-9]+' "$log" | grep -o 'cov: [0-9]* ft: [0-9]*' | tail -n 1 || true)
        echo "$now $news $last" >>"$logdir/timeline"
    done
    wait "$pid" || true
    end=$(date +%s)
    log="$logdir/fuzz-0.log"
    [ -f "$log" ] || log="$logdir/driver.log"

    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    read -r cov ft < <(grep -E '^#[0-9]+' "$log" | grep -o 'cov: [0-9]* ft: [0-9]*' |
        tail -n 1 | awk '{print $2, $4}') || true
    # libFuzzer's corpus at the end: inputs kept / their total size.
    corpus=$(grep -E '^#[0-9]+' "$log" | grep -o 'corp: [^ ]*' | tail -n 1 | cut -d' ' -f2 || true)
    dur=$((end - start))
    # Seconds since the last new feature (NEW line) and the last rise of cov.
    read -r since_new since_cov < <(awk -v end="$dur" '
        $1 ~ /^[0-9]+$/ {
            if ($2 != news) { news = $2; tnew = $1 }
            if ($4 != cov) { cov = $4; tcov = $1 }
        }
        END { print end - tnew, end - tcov }' "$logdir/timeline" 2>/dev/null) || true

    outcome=clean
    if grep -q 'ERROR: libFuzzer: out-of-memory' "$log"; then
        outcome=oom
    elif grep -q -e 'ERROR: libFuzzer: timeout' -e 'ALARM: working on the last Unit' "$log"; then
        outcome=timeout
    elif grep -q 'ERROR: LeakSanitizer' "$log"; then
        outcome=leak
    elif grep -q -e 'panicked at' -e 'ERROR: AddressSanitizer' -e 'deadly signal' \
        -e 'ERROR: libFuzzer' "$log"; then
        outcome=crash
    fi
    if [ "$outcome" != clean ]; then
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
        outcome="$outcome ${artifact#"$here/"}"
    elif [ "$(ls "$art" | wc -l)" -gt "$before" ]; then
        outcome="clean (new files in artifacts/$t)"
    fi
    rows+=("| $t | ${execs:-?} | ${cov:-?} | ${ft:-?} | $corpus | $dur | ${since_new:-?} | ${since_cov:-?} | $outcome |")
    echo "${rows[-1]}" >&2
done

echo "| target | execs | cov | ft | corpus (units/size) | seconds | s since NEW | s since cov rose | outcome |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
printf '%s\n' "${rows[@]}"
