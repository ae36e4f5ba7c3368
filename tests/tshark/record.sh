#!/usr/bin/env bash
# Record tshark's view of every capture file into tests/expected/tshark/.
#
# The tests compare osiscope's output with these files, so tshark is only
# needed when the expected files are (re)generated, never at test time.
# See tests/expected/tshark/README.md for the format of the output.
#
# Usage: tests/tshark/record.sh        (from any directory)
#
# Inputs (paths relative to the repository root, sorted bytewise):
#   captures/**     every regular file except *.md *.sh *.json *.js *.py *.keys,
#                   dot-files, and anything under captures/gen/
#   tests/corpus/** every regular file except *.md *.txt *.out *.test and
#                   anything under a directory named "expected"
#   In both trees, files that git ignores are skipped.
# Outputs, for each input P (N = P with every '/' replaced by '__'):
#   tests/expected/tshark/N.tsv           per-frame fields (all frames)
#   tests/expected/tshark/N.stderr        tshark's stderr for N.tsv (only if non-empty)
#   tests/expected/tshark/N.tcp.tsv       TCP analysis fields (only if tshark sees TCP)
#   tests/expected/tshark/N.tcp.stderr    stderr of that run (only if non-empty and
#                                         different from N.stderr)
#   tests/expected/tshark/N.ws.tsv        WebSocket fields, one row per packet that
#                                         holds WebSocket frames (only if there is one)
#   tests/expected/tshark/N.ws.stderr     stderr of that run (only if non-empty and
#                                         different from N.stderr)
#   tests/expected/tshark/N.tls.tsv       TLS fields, one row per packet holding TLS
#                                         records, decrypted with the key log P.keys
#                                         (only for inputs with one beside them)
#   tests/expected/tshark/N.wss.tsv       WebSocket fields as N.ws.tsv, decrypted with
#                                         P.keys (only for inputs with one beside them)
#   tests/expected/tshark/N.tls-nokeys.tsv  TLS fields as N.tls.tsv, without a key log
#                                         (only if tshark sees a TLS record)
#   tests/expected/tshark/N.http.tsv      HTTP fields, one row per packet that ends
#                                         an HTTP request or response (only if there
#                                         is one), decrypted with P.keys if present
#   tests/expected/tshark/SUMMARY.tsv     one row per input
#   tests/expected/tshark/VERSION.txt     first line of `tshark --version`
# Every other *.tsv / *.stderr in tests/expected/tshark/ is deleted, so files
# whose capture was removed disappear. README.md there is left alone.

set -euo pipefail
export LC_ALL=C
export TZ=UTC

die() { printf 'record.sh: %s\n' "$*" >&2; exit 1; }

for tool in tshark capinfos; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "'$tool' not found in PATH; install it first (Debian/Ubuntu: apt-get install tshark wireshark-common)"
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
OUT=tests/expected/tshark

FIELDS=(
    frame.number frame.time_epoch frame.cap_len frame.len frame.interface_id
    frame.protocols eth.src eth.dst vlan.id sll.pkttype
    ip.version ip.src ip.dst ip.ttl ip.id ip.proto ip.flags.mf ip.frag_offset
    ipv6.src ipv6.dst ipv6.hlim ipv6.nxt
    tcp.srcport tcp.dstport tcp.stream tcp.flags tcp.seq tcp.seq_raw tcp.ack
    tcp.ack_raw tcp.len tcp.hdr_len tcp.window_size_value tcp.options.mss_val
    tcp.options.wscale.shift tcp.options.sack_perm tcp.options.timestamp.tsval
    udp.srcport udp.dstport udp.length
    icmp.type icmp.code icmpv6.type icmpv6.code arp.opcode
    _ws.malformed _ws.expert.message
)
TCP_FIELDS=(
    frame.number tcp.stream tcp.flags tcp.seq tcp.ack tcp.len
    tcp.analysis.initial_rtt tcp.analysis.retransmission
    tcp.analysis.fast_retransmission tcp.analysis.spurious_retransmission
    tcp.analysis.out_of_order tcp.analysis.duplicate_ack
    tcp.analysis.duplicate_ack_num tcp.analysis.lost_segment
    tcp.analysis.ack_lost_segment tcp.analysis.zero_window
    tcp.analysis.window_full tcp.analysis.keep_alive
    tcp.analysis.keep_alive_ack tcp.analysis.window_update
    tcp.analysis.reused_ports tcp.window_size
    tcp.analysis.acks_frame tcp.analysis.ack_rtt
    ip.len ipv6.plen
)
# One row per packet in which tshark dissected WebSocket frames; a packet
# holding several frames has every per-frame value joined with ','.
WS_FIELDS=(
    frame.number tcp.stream
    websocket.fin websocket.rsv websocket.pmc websocket.opcode websocket.mask
    websocket.payload_length websocket.payload_length_ext_16
    websocket.payload_length_ext_64 websocket.masking_key
    websocket.payload.text data.data websocket.payload.continue
    websocket.payload.ping websocket.payload.pong
    websocket.payload.close.status_code websocket.payload.close.reason
    websocket.payload.unknown websocket.fragment.count
    websocket.reassembled.length
    _ws.malformed _ws.expert.message
)
# One row per packet holding TLS records, decrypted with the capture's key log.
TLS_FIELDS=(
    frame.number tcp.stream tcp.srcport
    tls.record.content_type tls.record.opaque_type tls.record.version tls.record.length
    tls.handshake.type tls.handshake.version tls.handshake.ciphersuite
    tls.handshake.extensions_server_name tls.handshake.extensions_alpn_str
    tls.handshake.extensions.supported_version tls.handshake.extensions_key_share_group
    tls.handshake.extensions_supported_group tls.alert_message.level tls.alert_message.desc
    tls.change_cipher_spec tls.handshake.ciphersuites
)
# One row per packet that ends an HTTP message (body included).
HTTP_FIELDS=(
    frame.number tcp.stream http.request.method http.request.uri
    http.response.code http.request_in
)
FIELD_OPTS=(-T fields -E header=y -E separator=/t -E occurrence=a -E aggregator=, -E quote=n)

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# Run tshark with default preferences only: an empty personal configuration
# directory, so a user's profile (decode-as, protocol preferences) cannot
# change the recorded answers.
mkdir "$TMP/wsconfig"
export WIRESHARK_CONFIG_DIR="$TMP/wsconfig"

# Wireshark tools print this warning on stderr whenever they run as root. It
# says nothing about the file, so it is dropped from the recorded stderr.
ROOT_WARNING='^Running as user ".*" and group ".*"\. This could be dangerous\.$'
# Decode-as options for the WebSocket run. tshark dissects WebSocket only
# after it has dissected the HTTP upgrade; the captures use ports 8801-8809,
# which tshark does not know as HTTP. The nDPI file is a slice of a session
# without the upgrade, so its port is decoded as WebSocket directly.
ws_decode_as() { # $1 = input path; prints one option per line
    case "$1" in
        captures/*) printf '%s\n' -d 'tcp.port==8801-8809,http' ;;
        tests/corpus/ndpi/websocket.pcap) printf '%s\n' -d 'tcp.port==12345,websocket' ;;
    esac
}
clean_stderr() { # $1 = raw stderr file; prints it without CRs or the root warning
    tr -d '\r' <"$1" | { grep -v -E "$ROOT_WARNING" || true; }
}

# ---------------------------------------------------------------- inputs
list_inputs() {
    if [ -d captures ]; then
        find captures -path captures/gen -prune -o -type f \
            ! -name '.*' ! -name '*.md' ! -name '*.sh' ! -name '*.json' \
            ! -name '*.js' ! -name '*.py' ! -name '*.keys' -print0
    fi
    if [ -d tests/corpus ]; then
        find tests/corpus -type d -name expected -prune -o -type f \
            ! -name '*.md' ! -name '*.txt' ! -name '*.out' ! -name '*.test' -print0
    fi
}
mapfile -d '' INPUTS < <(list_inputs | sort -z)

# Files git ignores (caches, installed tool trees) are never committed, so
# they are not recorded either.
if [ "${#INPUTS[@]}" -gt 0 ] && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -d '' IGNORED < <(printf '%s\0' "${INPUTS[@]}" | git check-ignore -z --stdin || true)
    if [ "${#IGNORED[@]}" -gt 0 ]; then
        mapfile -d '' INPUTS < <(printf '%s\0' "${INPUTS[@]}" |
            grep -z -v -x -F -f <(printf '%s\n' "${IGNORED[@]}"))
    fi
fi
[ "${#INPUTS[@]}" -gt 0 ] || die "no capture files found under captures/ or tests/corpus/"

# Two inputs must never map to the same output name.
dups="$(printf '%s\n' "${INPUTS[@]//\//__}" | sort | uniq -d)"
[ -z "$dups" ] || die "output name collision: $dups"

# ---------------------------------------------------------------- record
NEW="$TMP/new"
mkdir "$NEW"
TSHARK_VERSION="$(tshark --version 2>/dev/null | sed -n 1p)"
printf '%s\n' "$TSHARK_VERSION" >"$NEW/VERSION.txt"

fargs=(); for f in "${FIELDS[@]}"; do fargs+=(-e "$f"); done
targs=(); for f in "${TCP_FIELDS[@]}"; do targs+=(-e "$f"); done
wargs=(); for f in "${WS_FIELDS[@]}"; do wargs+=(-e "$f"); done
largs=(); for f in "${TLS_FIELDS[@]}"; do largs+=(-e "$f"); done
hargs=(); for f in "${HTTP_FIELDS[@]}"; do hargs+=(-e "$f"); done

summary="$NEW/SUMMARY.tsv"
printf 'path\ttshark_exit\tframes\tstderr_first_line\tcapinfos_file_type\tcapinfos_encapsulation\n' >"$summary"

n=0
for path in "${INPUTS[@]}"; do
    n=$((n + 1))
    name="${path//\//__}"
    printf '[%d/%d] %s\n' "$n" "${#INPUTS[@]}" "$path" >&2

    # a) all frames
    rc=0
    tshark -n -r "$path" "${FIELD_OPTS[@]}" "${fargs[@]}" \
        >"$TMP/out" 2>"$TMP/err" </dev/null || rc=$?
    tr -d '\r' <"$TMP/out" >"$NEW/$name.tsv"
    clean_stderr "$TMP/err" >"$TMP/err.clean"
    [ -s "$TMP/err.clean" ] && cp "$TMP/err.clean" "$NEW/$name.stderr"

    lines="$(wc -l <"$NEW/$name.tsv")"
    if head -n 1 "$NEW/$name.tsv" | grep -q '^frame\.number'; then
        frames=$((lines - 1))
    else
        frames=$lines
    fi
    first_err="$(sed -n 1p "$TMP/err.clean" | tr '\t' ' ')"

    # b) capinfos: short file type and encapsulation names (table output)
    ftype=-; encap=-
    if capinfos -T -r -t -E "$path" >"$TMP/cap" 2>/dev/null </dev/null; then
        row="$(tr -d '\r' <"$TMP/cap" | sed -n 1p)"
        if [ -n "$row" ]; then
            ftype="$(printf '%s\n' "$row" | awk -F'\t' '{print $(NF-1)}')"
            encap="$(printf '%s\n' "$row" | awk -F'\t' '{print $NF}')"
        fi
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$path" "$rc" "$frames" "$first_err" "$ftype" "$encap" >>"$summary"

    # c) TCP analysis, only when tshark sees at least one TCP packet
    tshark -n -r "$path" -Y tcp "${FIELD_OPTS[@]}" "${targs[@]}" \
        >"$TMP/tout" 2>"$TMP/terr" </dev/null || true
    tr -d '\r' <"$TMP/tout" >"$TMP/tout.clean"
    if [ "$(grep -c -v '^frame\.number' "$TMP/tout.clean" || true)" -gt 0 ]; then
        cp "$TMP/tout.clean" "$NEW/$name.tcp.tsv"
        clean_stderr "$TMP/terr" >"$TMP/terr.clean"
        if [ -s "$TMP/terr.clean" ] && ! cmp -s "$TMP/terr.clean" "$TMP/err.clean"; then
            cp "$TMP/terr.clean" "$NEW/$name.tcp.stderr"
        fi

        # d) WebSocket frames (only over TCP), only when tshark sees at least one
        mapfile -t dargs < <(ws_decode_as "$path")
        tshark -n -r "$path" "${dargs[@]}" -Y websocket "${FIELD_OPTS[@]}" "${wargs[@]}" \
            >"$TMP/wout" 2>"$TMP/werr" </dev/null || true
        tr -d '\r' <"$TMP/wout" >"$TMP/wout.clean"
        if [ "$(grep -c -v '^frame\.number' "$TMP/wout.clean" || true)" -gt 0 ]; then
            cp "$TMP/wout.clean" "$NEW/$name.ws.tsv"
            clean_stderr "$TMP/werr" >"$TMP/werr.clean"
            if [ -s "$TMP/werr.clean" ] && ! cmp -s "$TMP/werr.clean" "$TMP/err.clean"; then
                cp "$TMP/werr.clean" "$NEW/$name.ws.stderr"
            fi
        fi

        # e) with the capture's key log beside it: TLS records and the WebSocket inside
        keys="${path%.*}.keys"
        if [ -f "$keys" ]; then
            tshark -n -r "$path" -o "tls.keylog_file:$keys" -Y tls "${FIELD_OPTS[@]}" "${largs[@]}" \
                </dev/null 2>/dev/null | tr -d '\r' >"$NEW/$name.tls.tsv" || true
            tshark -n -r "$path" -o "tls.keylog_file:$keys" -Y websocket "${FIELD_OPTS[@]}" "${wargs[@]}" \
                </dev/null 2>/dev/null | tr -d '\r' >"$NEW/$name.wss.tsv" || true
        fi

        # f) TLS records without keys, only when tshark sees at least one: what the
        #    hellos say in the clear
        tshark -n -r "$path" -Y tls "${FIELD_OPTS[@]}" "${largs[@]}" </dev/null 2>/dev/null |
            tr -d '\r' >"$TMP/nout" || true
        if [ "$(grep -c -v '^frame\.number' "$TMP/nout" || true)" -gt 0 ]; then
            cp "$TMP/nout" "$NEW/$name.tls-nokeys.tsv"
        fi

        # g) HTTP messages: the frame that ends each (inside TLS when the key log is there)
        kargs=()
        [ -f "$keys" ] && kargs=(-o "tls.keylog_file:$keys")
        tshark -n -r "$path" "${dargs[@]}" "${kargs[@]}" -Y http "${FIELD_OPTS[@]}" "${hargs[@]}" \
            </dev/null 2>/dev/null | tr -d '\r' >"$TMP/hout" || true
        if [ "$(grep -c -v '^frame\.number' "$TMP/hout" || true)" -gt 0 ]; then
            cp "$TMP/hout" "$NEW/$name.http.tsv"
        fi
    fi
done

# ---------------------------------------------------------------- install
mkdir -p "$OUT"
find "$OUT" -maxdepth 1 -type f \( -name '*.tsv' -o -name '*.stderr' -o -name 'VERSION.txt' \) -delete
cp "$NEW"/* "$OUT"/
printf 'record.sh: %d files recorded with %s\n' "${#INPUTS[@]}" "$TSHARK_VERSION" >&2
