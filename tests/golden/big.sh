#!/usr/bin/env bash
# Checks (or with --record, records) the output digests of every command line
# in tests/golden/commands.txt on the SYNTHETIC 100 MiB benchmark capture
# (examples/gen_bench.rs, seed 1, as benches/bench.sh makes it), with a
# release binary. The small captures are checked by `cargo test --test golden`.
#
# Usage: tests/golden/big.sh [--record]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
F=/tmp/osiscope-bench-100M.pcap
cargo build --release --quiet --bin osiscope --example gen_bench
if [[ ! -f $F ]]; then
    echo "generating $F"
    "$TARGET/release/examples/gen_bench" --out "$F" --size 100M --seed 1 >/dev/null
fi
# The digests are of the file made by this generator and seed: say so if it changed.
echo "capture: $F, $(stat -c %s "$F") bytes, sha1 $(sha1sum "$F" | cut -c1-16)"
mode=()
[[ ${1:-} == --record ]] && mode=(env OSISCOPE_GOLDEN=record)
"${mode[@]}" env OSISCOPE_GOLDEN_BIG="$F" OSISCOPE_BIN="$TARGET/release/osiscope" \
    cargo test --quiet --test golden -- --ignored every_view_on_big_captures
