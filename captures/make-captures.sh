#!/usr/bin/env bash
# Regenerates the captures in this directory from real traffic between real programs on
# loopback (127.0.0.1 / ::1 only). Debian, as root:
#   sudo captures/make-captures.sh              every capture
#   sudo captures/make-captures.sh wss_keyupdate socketio_https   only these (names below)
#
# The wss:// and https:// captures use the test certificate in gen/tls/ (a throwaway key for
# loopback recordings, valid for osiscope.test, localhost, 127.0.0.1 and ::1) and keep the
# client's TLS secrets next to each capture as NAME.keys (NSS key log format, what
# SSLKEYLOGFILE writes), so that the traffic can be decrypted: osiscope walk F --keylog F.keys.
#
# Installs what it needs if missing (apt: tcpdump, wireshark-common, curl, nodejs, npm, chromium,
# python3-venv; pip: captures/gen/requirements.txt into captures/gen/.venv; npm: `npm ci` in
# captures/gen). Each capture: start the recorder, wait until it is listening, run the server
# and the client (each bounded by `timeout`), wait for both, stop the recorder with SIGINT.
# The new files replace the old ones only when every capture succeeded.
set -euo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
GEN=$HERE/gen
WORK=$(mktemp -d /tmp/osiscope-captures.XXXXXX)
chmod 755 "$WORK"
PY=$GEN/.venv/bin/python
LIMIT=20 # seconds any single program may run

# Stop whatever is still running in the background (recorder, server), then remove the
# scratch directory. `jobs -p` lists only this shell's own unfinished background jobs.
cleanup() {
  local pids i
  pids=$(jobs -p)
  if [[ -n $pids ]]; then
    kill -TERM $pids 2>/dev/null || true
    for ((i = 0; i < 40; i++)); do
      [[ -z $(jobs -pr) ]] && break
      sleep 0.05
    done
    kill -KILL $(jobs -pr) 2>/dev/null || true
  fi
  rm -rf -- "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (packet capture needs it): sudo $0"

# ---------------------------------------------------------------- dependencies
install_dependencies() {
  local missing=()
  command -v tcpdump >/dev/null || missing+=(tcpdump)
  command -v dumpcap >/dev/null && command -v capinfos >/dev/null || missing+=(wireshark-common)
  command -v curl >/dev/null || missing+=(curl)
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  command -v python3 >/dev/null || missing+=(python3)
  command -v ss >/dev/null || missing+=(iproute2)
  command -v chromium >/dev/null || missing+=(chromium)
  python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
  if ((${#missing[@]})); then
    log "apt-get install ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi

  if [[ ! -x $PY ]]; then
    log "creating $GEN/.venv"
    python3 -m venv "$GEN/.venv"
  fi
  "$PY" -m pip install -q --disable-pip-version-check -r "$GEN/requirements.txt"

  # npm ci again only when the lock file changed since the last install
  if [[ ! $GEN/node_modules/.package-lock.json -nt $GEN/package-lock.json ]]; then
    log "npm ci in $GEN"
    (cd "$GEN" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}

# ---------------------------------------------------------------- helpers
# wait_for FILE REGEX SECONDS: poll FILE until a line matches REGEX
wait_for() {
  local file=$1 regex=$2 i
  for ((i = 0; i < $3 * 20; i++)); do
    grep -Eq -- "$regex" "$file" 2>/dev/null && return 0
    sleep 0.05
  done
  cat -- "$file" >&2 2>/dev/null || true
  die "timed out waiting for /$regex/ in $file"
}

# wait_pid PID SECONDS: wait for a background job, stop it if it overstays; returns its status
wait_pid() {
  local pid=$1 i
  for ((i = 0; i < $2 * 20; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    sleep 1
    kill -KILL "$pid" 2>/dev/null || true
  fi
  local status=0
  wait "$pid" || status=$?
  return "$status"
}

port_must_be_free() {
  [[ -z $(ss -Htln "sport = :$1") ]] || die "something already listens on port $1"
}

REC_PID=
REC_LOG=
REC_FILE=
# start_recorder KIND FILE PORT: KIND is lo (tcpdump -i lo), sll2 (tcpdump -i any) or pcapng
start_recorder() {
  local kind=$1 file=$2 port=$3
  REC_FILE=$file
  REC_LOG=$WORK/$(basename "$file").recorder.log
  local cmd
  case $kind in
    lo) cmd=(tcpdump -i lo -s 262144 -U --immediate-mode -Z root -w "$file" "tcp port $port") ;;
    lo96) cmd=(tcpdump -i lo -s 96 -U --immediate-mode -Z root -w "$file" "tcp port $port") ;;
    sll2) cmd=(tcpdump -i any -y LINUX_SLL2 -s 262144 -U --immediate-mode -Z root -w "$file" "tcp port $port") ;;
    pcapng) cmd=(dumpcap -i lo -s 262144 -f "tcp port $port" -w "$file") ;;
  esac
  "${cmd[@]}" </dev/null 2>"$REC_LOG" &
  REC_PID=$!
  # tcpdump says "listening on lo, ...", dumpcap says "Capturing on 'Loopback: lo'"
  wait_for "$REC_LOG" '^(tcpdump: )?listening on |^Capturing on ' 10
}

stop_recorder() {
  sleep 0.5 # let the last segments (final ACKs) reach the capture buffer
  kill -INT "$REC_PID"
  wait_pid "$REC_PID" 10 || die "recorder failed: $(cat "$REC_LOG")"
  # tcpdump: "N packets dropped by kernel"; dumpcap: "Packets received/dropped on ...: R/D"
  if grep -Eq '^[1-9][0-9]* packets? dropped|received/dropped .*: [0-9]+/[1-9]' "$REC_LOG"; then
    die "recorder dropped packets: $(cat "$REC_LOG")"
  fi
  # every packet the recorder says it captured must be in the file
  local said in_file
  said=$(grep -Eo '^[0-9]+ packets? captured|^Packets( captured)?: [0-9]+' "$REC_LOG" | grep -Eo '[0-9]+' || true)
  in_file=$(capinfos -T -r -c -M "$REC_FILE" | cut -f2)
  [[ $in_file -gt 0 ]] || die "$REC_FILE is empty: $(cat "$REC_LOG")"
  [[ -z $said || $said -eq $in_file ]] || die "$REC_FILE has $in_file packets, recorder said $said"
}

SRV_PID=
# start_server PORT CMD...: start a server in the background and wait for "listening on"
start_server() {
  local port=$1
  shift
  local srv_log=$WORK/server.$port.log
  port_must_be_free "$port"
  timeout "$LIMIT" "$@" >"$srv_log" 2>&1 </dev/null &
  SRV_PID=$!
  wait_for "$srv_log" '^listening on ' 10
}

wait_server() {
  wait_pid "$SRV_PID" "$LIMIT" || die "server failed: $(cat "$WORK"/server.*.log)"
}

client() {
  timeout "$LIMIT" "$@" </dev/null >>"$WORK/clients.log" 2>&1 || die "client failed: $* ($(tail -5 "$WORK/clients.log"))"
}

# ---------------------------------------------------------------- the captures
# Ports are fixed and distinct per capture (all below the ephemeral range).
P_ECHO=8801 P_DEFLATE=8802 P_IPV6=8803 P_SOCKETIO=8804
P_REFUSED=8805 P_REJECTED=8806 P_SLL2=8807 P_PCAPNG=8808 P_SNAP=8809
P_WSS13=8811 P_WSS12C=8812 P_WSS12G=8813 P_WSSNODE=8814 P_SIOTLS=8815 P_KEYUPD=8816
P_BROWSER=8817 P_SLOWPONG=8818 P_SIOSLOW=8819 P_SIORECONN=8820
CERT=$GEN/tls/cert.pem KEY=$GEN/tls/key.pem

capture_ws_echo() {
  local out=$WORK/ws-echo.pcap
  start_recorder lo "$out" "$P_ECHO"
  start_server "$P_ECHO" "$PY" "$GEN/ws_echo_server.py" --host 127.0.0.1 --port "$P_ECHO"
  client "$PY" "$GEN/ws_echo_client.py" --url "ws://127.0.0.1:$P_ECHO/echo" --script full
  wait_server
  stop_recorder
}

# The echo session recorded with a snap length of 96 bytes, as `tcpdump -s 96`
# records: each frame keeps its headers and the first 30 bytes of its data.
capture_ws_echo_snaplen96() {
  local out=$WORK/ws-echo-snaplen96.pcap
  start_recorder lo96 "$out" "$P_SNAP"
  start_server "$P_SNAP" "$PY" "$GEN/ws_echo_server.py" --host 127.0.0.1 --port "$P_SNAP"
  client "$PY" "$GEN/ws_echo_client.py" --url "ws://127.0.0.1:$P_SNAP/echo" --script full
  wait_server
  stop_recorder
}

capture_ws_deflate() {
  local out=$WORK/ws-deflate.pcap
  start_recorder lo "$out" "$P_DEFLATE"
  start_server "$P_DEFLATE" "$PY" "$GEN/ws_echo_server.py" --host 127.0.0.1 --port "$P_DEFLATE" --deflate
  client "$PY" "$GEN/ws_echo_client.py" --url "ws://127.0.0.1:$P_DEFLATE/echo" --script deflate --deflate
  wait_server
  stop_recorder
}

capture_ws_echo_ipv6() {
  local out=$WORK/ws-echo-ipv6.pcap
  start_recorder lo "$out" "$P_IPV6"
  start_server "$P_IPV6" node "$GEN/ws_node_echo_server.js" ::1 "$P_IPV6"
  client node "$GEN/ws_node_echo_client.js" "ws://[::1]:$P_IPV6/chat"
  wait_server
  stop_recorder
}

capture_socketio_upgrade() {
  local out=$WORK/socketio-upgrade.pcap
  start_recorder lo "$out" "$P_SOCKETIO"
  start_server "$P_SOCKETIO" node "$GEN/socketio_server.js" "$P_SOCKETIO"
  client node "$GEN/socketio_client.js" "http://127.0.0.1:$P_SOCKETIO"
  wait_server
  stop_recorder
}

capture_refused() {
  local out=$WORK/refused.pcap status=0
  port_must_be_free "$P_REFUSED"
  start_recorder lo "$out" "$P_REFUSED"
  timeout "$LIMIT" curl -sS --max-time 5 "http://127.0.0.1:$P_REFUSED/" >>"$WORK/clients.log" 2>&1 || status=$?
  [[ $status -eq 7 ]] || die "curl should have failed to connect (exit 7), got exit $status"
  stop_recorder
}

capture_ws_upgrade_rejected() {
  local out=$WORK/ws-upgrade-rejected.pcap
  start_recorder lo "$out" "$P_REJECTED"
  start_server "$P_REJECTED" "$PY" "$GEN/http_reject_server.py" --host 127.0.0.1 --port "$P_REJECTED"
  # A WebSocket opening handshake asking for protocol version 8, which the server refuses.
  client curl -sS --max-time 5 --http1.1 -i \
    -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
    -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'Sec-WebSocket-Version: 8' \
    "http://127.0.0.1:$P_REJECTED/chat"
  wait_server
  stop_recorder
}

capture_ws_echo_any_sll2() {
  local out=$WORK/ws-echo-any-sll2.pcap
  start_recorder sll2 "$out" "$P_SLL2"
  start_server "$P_SLL2" "$PY" "$GEN/ws_echo_server.py" --host 127.0.0.1 --port "$P_SLL2"
  client "$PY" "$GEN/ws_echo_client.py" --url "ws://127.0.0.1:$P_SLL2/echo" --script short
  wait_server
  stop_recorder
}

capture_ws_echo_pcapng() {
  local out=$WORK/ws-echo.pcapng
  start_recorder pcapng "$out" "$P_PCAPNG"
  start_server "$P_PCAPNG" node "$GEN/ws_node_echo_server.js" 127.0.0.1 "$P_PCAPNG"
  client node "$GEN/ws_node_echo_client.js" "ws://127.0.0.1:$P_PCAPNG/chat"
  wait_server
  stop_recorder
}

# wss_python NAME PORT CLIENT-ARGS...: Python websockets over TLS, secrets in NAME.keys
wss_python() {
  local name=$1 port=$2
  shift 2
  start_recorder lo "$WORK/$name.pcap" "$port"
  start_server "$port" "$PY" "$GEN/ws_echo_server.py" --host 127.0.0.1 --port "$port" \
    --tls-cert "$CERT" --tls-key "$KEY"
  client "$PY" "$GEN/ws_echo_client.py" --url "wss://127.0.0.1:$port/echo" --ca "$CERT" \
    --server-name osiscope.test --keylog "$WORK/$name.keys" "$@"
  wait_server
  stop_recorder
}

capture_wss_python_tls13() {
  # TLS 1.3: OpenSSL's first choice, TLS_AES_256_GCM_SHA384
  wss_python wss-python-tls13 "$P_WSS13" --script full
}

capture_wss_python_tls12_chacha() {
  wss_python wss-python-tls12-chacha "$P_WSS12C" --script full --tls12 \
    --ciphers ECDHE-ECDSA-CHACHA20-POLY1305
}

capture_wss_python_tls12_aesgcm() {
  wss_python wss-python-tls12-aesgcm "$P_WSS12G" --script short --tls12 \
    --ciphers ECDHE-ECDSA-AES128-GCM-SHA256
}

capture_wss_node_tls13_aes256() {
  local name=wss-node-tls13-aes256
  start_recorder lo "$WORK/$name.pcap" "$P_WSSNODE"
  start_server "$P_WSSNODE" node "$GEN/wss_node_echo_server.js" 127.0.0.1 "$P_WSSNODE" \
    "$CERT" "$KEY" TLS_AES_256_GCM_SHA384
  client node --no-warnings --tls-keylog="$WORK/$name.keys" "$GEN/wss_node_echo_client.js" \
    "wss://127.0.0.1:$P_WSSNODE/chat" "$CERT" osiscope.test
  wait_server
  stop_recorder
}

capture_socketio_https() {
  # long-polling then WebSocket, all over TLS 1.3 with ChaCha20-Poly1305; the client
  # connects to an IP address, so it sends no server name
  local name=socketio-https
  start_recorder lo "$WORK/$name.pcap" "$P_SIOTLS"
  start_server "$P_SIOTLS" node "$GEN/socketio_server.js" "$P_SIOTLS" "$CERT" "$KEY" \
    TLS_CHACHA20_POLY1305_SHA256
  client node --no-warnings --tls-keylog="$WORK/$name.keys" "$GEN/socketio_client.js" \
    "https://127.0.0.1:$P_SIOTLS" "$CERT"
  wait_server
  stop_recorder
}

capture_wss_keyupdate() {
  # openssl s_client as the TLS client: a KeyUpdate between two WebSocket messages
  local name=wss-keyupdate
  start_recorder lo "$WORK/$name.pcap" "$P_KEYUPD"
  start_server "$P_KEYUPD" "$PY" "$GEN/ws_echo_server.py" --host 127.0.0.1 --port "$P_KEYUPD" \
    --tls-cert "$CERT" --tls-key "$KEY"
  client "$PY" "$GEN/wss_keyupdate_client.py" --port "$P_KEYUPD" --ca "$CERT" \
    --server-name osiscope.test --keylog "$WORK/$name.keys" \
    --ciphersuite TLS_AES_128_GCM_SHA256
  wait_server
  stop_recorder
}

capture_wss_chromium() {
  # a browser: headless Chromium loads a page over https:// whose script talks wss:// to the
  # same server (Node "ws", permessage-deflate on every message). Chromium opens a spare
  # connection it never uses, resumes the first TLS session for the WebSocket (a PSK, no
  # certificate), offers X25519MLKEM768 and a GREASE Encrypted Client Hello, and resets its
  # idle connections when it quits. The name osiscope.test is mapped to 127.0.0.1 so that
  # the ClientHello carries it.
  local name=wss-chromium
  start_recorder lo "$WORK/$name.pcap" "$P_BROWSER"
  start_server "$P_BROWSER" node "$GEN/wss_browser_server.js" 127.0.0.1 "$P_BROWSER" \
    "$CERT" "$KEY"
  client chromium --headless=new --no-sandbox --disable-gpu --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$WORK/chromium-profile" --ignore-certificate-errors \
    --ssl-key-log-file="$WORK/$name.keys" \
    --host-resolver-rules="MAP osiscope.test 127.0.0.1" \
    --dump-dom "https://osiscope.test:$P_BROWSER/"
  wait_server
  stop_recorder
  rm -rf "$WORK/chromium-profile"
}

capture_ws_slow_pong() {
  # a WebSocket server that pongs 50 ms late and echoes 30 ms late (Node "ws", autoPong off)
  local out=$WORK/ws-slow-pong.pcap
  start_recorder lo "$out" "$P_SLOWPONG"
  start_server "$P_SLOWPONG" node "$GEN/ws_slow_pong_server.js" "$P_SLOWPONG"
  client node "$GEN/ws_slow_pong_client.js" "ws://127.0.0.1:$P_SLOWPONG/slow"
  wait_server
  stop_recorder
}

capture_socketio_slow() {
  # Socket.IO handlers that sleep before they acknowledge; heartbeats every 300 ms
  local out=$WORK/socketio-slow.pcap
  start_recorder lo "$out" "$P_SIOSLOW"
  start_server "$P_SIOSLOW" node "$GEN/socketio_slow_server.js" "$P_SIOSLOW"
  client node "$GEN/socketio_slow_client.js" "http://127.0.0.1:$P_SIOSLOW"
  wait_server
  stop_recorder
}

capture_socketio_reconnect() {
  # one Socket.IO client across three connections: a transport the server closes (the
  # session is recovered), then a server restart (connections refused until it is back)
  local out=$WORK/socketio-reconnect.pcap
  start_recorder lo "$out" "$P_SIORECONN"
  start_server "$P_SIORECONN" node "$GEN/socketio_reconnect_server.js" "$P_SIORECONN"
  client node "$GEN/socketio_reconnect_client.js" "http://127.0.0.1:$P_SIORECONN"
  wait_server
  stop_recorder
}

# ---------------------------------------------------------------- checks
# Run only when tshark is installed (it is not needed to record). Every file: no malformed or
# truncated packets, no expert errors, no lost, retransmitted, duplicated or out-of-order
# segments. Then, per file, the steps of the story that must be there.
check_clean() {
  local file=$WORK/$1 bad filter
  filter='_ws.malformed || _ws.short || tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment ||
      tcp.analysis.out_of_order'
  # Connections refused while the restarted server is down are the point of that capture.
  [[ $1 == socketio-reconnect.pcap ]] && filter=${filter/ || tcp.analysis.ack_lost_segment/}
  # The browser's own timers may retransmit a segment (a tail-loss probe) even on loopback,
  # and its resets are expert warnings: as recorded, not a fault of the recording.
  # A file cut by its snap length has short frames by design.
  [[ $1 == ws-echo-snaplen96.pcap ]] && filter=${filter/ || _ws.short/}
  [[ $1 == wss-chromium.pcap ]] ||
    filter+=' || _ws.expert.severity >= 0x00800000 || tcp.analysis.retransmission ||
      tcp.analysis.duplicate_ack'
  bad=$(tshark -n -r "$file" -Y "$filter" 2>"$WORK/tshark.err") ||
    die "tshark cannot read $file: $(cat "$WORK/tshark.err")"
  [[ -z $bad ]] || die "$1 has problems:"$'\n'"$bad"
}

# expect FILE TEST N FILTER: the number of packets matching FILTER must pass `[[ count TEST N ]]`
expect() {
  local file=$1 test=$2 want=$3 filter=$4 got
  got=$(tshark -n -r "$WORK/$file" -Y "$filter" 2>/dev/null | wc -l)
  case $test in
    -eq) ((got == want)) ;;
    -ge) ((got >= want)) ;;
  esac || die "$file: expected $test $want packet(s) matching '$filter', found $got"
}

# the TCP and WebSocket steps every echo capture shows: handshake, upgrade, close, FIN teardown
expect_ws_session() {
  local file=$1
  expect "$file" -eq 1 'tcp.flags.syn == 1 && tcp.flags.ack == 0'
  expect "$file" -eq 1 'http.response.code == 101'
  expect "$file" -eq 2 'websocket.opcode == 8'
  expect "$file" -eq 2 'tcp.flags.fin == 1'
  expect "$file" -eq 0 'tcp.flags.reset == 1'
}

# expect_tls FILE TEST N FILTER: as expect, decrypting with FILE's key log
expect_tls() {
  local file=$1 test=$2 want=$3 filter=$4 got
  got=$(tshark -n -r "$WORK/$file" -o "tls.keylog_file:$WORK/${file%.pcap}.keys" -Y "$filter" 2>/dev/null | wc -l)
  case $test in
    -eq) ((got == want)) ;;
    -ge) ((got >= want)) ;;
  esac || die "$file: expected $test $want packet(s) matching '$filter' (decrypted), found $got"
}

check_tls_captures() {
  local f
  for f in "$WORK"/*.keys; do
    f=$(basename "$f" .keys).pcap
    [[ -f $WORK/$f ]] || continue
    expect_tls "$f" -ge 1 'tls.handshake.type == 1'
    expect_tls "$f" -eq 2 'websocket.opcode == 8'
    # Node resets the kept-alive polling connections when the Socket.IO server closes;
    # Chromium resets its idle connections when it quits
    [[ $f == socketio-https.pcap || $f == wss-chromium.pcap ]] ||
      expect_tls "$f" -eq 0 'tcp.flags.reset == 1'
  done
  if [[ -f $WORK/wss-python-tls13.pcap ]]; then
    expect_tls wss-python-tls13.pcap -eq 1 'tls.handshake.ciphersuite == 0x1302 && tls.handshake.type == 2'
    expect_tls wss-python-tls13.pcap -eq 1 'tls.handshake.extensions_server_name == "osiscope.test"'
    expect_tls wss-python-tls13.pcap -eq 2 'websocket.opcode == 2'
  fi
  if [[ -f $WORK/wss-python-tls12-chacha.pcap ]]; then
    expect_tls wss-python-tls12-chacha.pcap -eq 1 'tls.handshake.ciphersuite == 0xcca9 && tls.handshake.type == 2'
    expect_tls wss-python-tls12-chacha.pcap -eq 6 'websocket.opcode == 1'
  fi
  if [[ -f $WORK/wss-python-tls12-aesgcm.pcap ]]; then
    expect_tls wss-python-tls12-aesgcm.pcap -eq 1 'tls.handshake.ciphersuite == 0xc02b && tls.handshake.type == 2'
  fi
  if [[ -f $WORK/wss-node-tls13-aes256.pcap ]]; then
    expect_tls wss-node-tls13-aes256.pcap -eq 1 'websocket.payload_length_ext_16 == 40000 && websocket.mask == 1'
  fi
  if [[ -f $WORK/socketio-https.pcap ]]; then
    expect_tls socketio-https.pcap -eq 5 'tls.handshake.type == 1'
    expect_tls socketio-https.pcap -eq 5 'tls.handshake.ciphersuite == 0x1303 && tls.handshake.type == 2'
    expect_tls socketio-https.pcap -eq 1 'websocket.payload.text == "5"'
  fi
  if [[ -f $WORK/wss-keyupdate.pcap ]]; then
    expect_tls wss-keyupdate.pcap -ge 1 'tls.handshake.type == 24'
    expect_tls wss-keyupdate.pcap -eq 4 'websocket.payload.text contains "key update"'
  fi
  if [[ -f $WORK/wss-chromium.pcap ]]; then
    expect_tls wss-chromium.pcap -eq 1 'http.response.code == 101'
    expect_tls wss-chromium.pcap -eq 6 'websocket.opcode == 1 || websocket.opcode == 2'
    expect_tls wss-chromium.pcap -eq 6 'websocket.pmc == 1'
    expect_tls wss-chromium.pcap -ge 2 'tls.handshake.extensions_server_name == "osiscope.test"'
    # the WebSocket's connection resumes the page's TLS session: no certificate in it
    expect_tls wss-chromium.pcap -eq 1 'tls.handshake.type == 2 && !(tls.handshake.type == 11)'
  fi
}

check_captures() {
  command -v tshark >/dev/null || { log "tshark not installed: skipping the checks"; return 0; }
  local f
  for f in "$WORK"/*.pcap "$WORK"/*.pcapng; do
    [[ -e $f ]] && check_clean "$(basename "$f")"
  done
  check_tls_captures
  check_latency_captures
  # the rest checks the plain captures, when all of them were made
  [[ -f $WORK/ws-echo.pcap ]] || return 0

  expect_ws_session ws-echo.pcap
  expect ws-echo.pcap -eq 2 'websocket.payload_length == 126'
  expect ws-echo.pcap -eq 2 'websocket.opcode == 2'
  expect ws-echo.pcap -eq 1 'websocket.opcode == 9'
  expect ws-echo.pcap -eq 1 'websocket.opcode == 10'
  expect ws-echo.pcap -eq 2 'websocket.payload.close.status_code == 1000'
  expect ws-echo.pcap -eq 0 'websocket.rsv != 0'

  expect_ws_session ws-deflate.pcap
  expect ws-deflate.pcap -eq 2 'http.sec_websocket_extensions contains "permessage-deflate"'
  expect ws-deflate.pcap -eq 12 'websocket.pmc == 1'

  expect_ws_session ws-echo-ipv6.pcap
  expect ws-echo-ipv6.pcap -eq 0 '!ipv6'
  expect ws-echo-ipv6.pcap -eq 7 'websocket.opcode == 1'

  expect socketio-upgrade.pcap -ge 2 'http.request.uri contains "transport=polling"'
  expect socketio-upgrade.pcap -eq 1 'http.response.code == 101'
  expect socketio-upgrade.pcap -eq 1 'websocket.payload.text == "2probe"'
  expect socketio-upgrade.pcap -eq 1 'websocket.payload.text == "3probe"'
  expect socketio-upgrade.pcap -eq 1 'websocket.payload.text == "5"'
  expect socketio-upgrade.pcap -eq 1 'websocket.payload.text matches "^451-"'
  expect socketio-upgrade.pcap -eq 1 'websocket.opcode == 2'
  expect socketio-upgrade.pcap -ge 1 'websocket.payload.text == "2"'
  expect socketio-upgrade.pcap -ge 1 'websocket.payload.text == "3"'
  expect socketio-upgrade.pcap -eq 1 'websocket.payload.text == "41"'
  expect socketio-upgrade.pcap -eq 2 'websocket.opcode == 8'
  expect socketio-upgrade.pcap -eq 0 'tcp.flags.reset == 1'

  expect refused.pcap -eq 2 'frame'
  expect refused.pcap -eq 1 'tcp.flags.syn == 1 && tcp.flags.ack == 0'
  expect refused.pcap -eq 1 'tcp.flags.reset == 1'

  expect ws-upgrade-rejected.pcap -eq 1 'http.request.line contains "Upgrade: websocket"'
  expect ws-upgrade-rejected.pcap -eq 1 'http.response.code == 426'
  expect ws-upgrade-rejected.pcap -eq 2 'tcp.flags.fin == 1'
  expect ws-upgrade-rejected.pcap -eq 0 'tcp.flags.reset == 1'

  expect_ws_session ws-echo-any-sll2.pcap
  expect ws-echo-any-sll2.pcap -eq 0 '!sll'

  expect ws-echo-snaplen96.pcap -eq 1 'http.request.method == "GET"'
  expect ws-echo-snaplen96.pcap -ge 1 'frame.cap_len < frame.len'
  expect ws-echo-snaplen96.pcap -eq 2 'tcp.flags.fin == 1'

  expect_ws_session ws-echo.pcapng
  capinfos -t "$WORK/ws-echo.pcapng" | grep -q pcapng || die "ws-echo.pcapng is not pcapng"
}

# the captures of slow servers and of a reconnecting client
check_latency_captures() {
  if [[ -f $WORK/ws-slow-pong.pcap ]]; then
    expect_ws_session ws-slow-pong.pcap
    expect ws-slow-pong.pcap -eq 3 'websocket.opcode == 9'
    expect ws-slow-pong.pcap -eq 3 'websocket.opcode == 10'
    expect ws-slow-pong.pcap -eq 4 'websocket.opcode == 1'
  fi
  if [[ -f $WORK/socketio-slow.pcap ]]; then
    expect socketio-slow.pcap -eq 1 'http.response.code == 101'
    expect socketio-slow.pcap -eq 3 'websocket.payload.text matches "^42[0-9]+\\[\"save\""'
    expect socketio-slow.pcap -eq 1 'websocket.payload.text matches "^42/admin,0\\["'
    expect socketio-slow.pcap -ge 3 'websocket.payload.text == "2"'
  fi
  if [[ -f $WORK/socketio-reconnect.pcap ]]; then
    expect socketio-reconnect.pcap -eq 3 'http.response.code == 101'
    expect socketio-reconnect.pcap -ge 1 'tcp.flags.reset == 1 && tcp.flags.ack == 1 && tcp.seq == 1'
    expect socketio-reconnect.pcap -eq 2 'websocket.payload.text contains "\"pid\""  && websocket.payload.text matches "^40\\{"  && ip.src == 127.0.0.1 && tcp.dstport == 8820'
  fi
}

main() {
  local start=$SECONDS name
  install_dependencies
  local names=(
    ws_echo ws_deflate ws_echo_ipv6 socketio_upgrade
    refused ws_upgrade_rejected ws_echo_any_sll2 ws_echo_pcapng ws_echo_snaplen96
    wss_python_tls13 wss_python_tls12_chacha wss_python_tls12_aesgcm
    wss_node_tls13_aes256 socketio_https wss_keyupdate wss_chromium
    ws_slow_pong socketio_slow socketio_reconnect
  )
  if (($#)); then
    for name in "$@"; do
      declare -F "capture_$name" >/dev/null || die "no capture named $name (one of: ${names[*]})"
    done
    names=("$@")
  fi
  for name in "${names[@]}"; do
    log "capture: $name"
    "capture_$name"
  done
  check_captures
  local f
  for f in "$WORK"/*.keys; do
    [[ -e $f ]] && install -m 644 "$f" "$HERE/$(basename "$f")"
  done
  for f in "$WORK"/*.pcap "$WORK"/*.pcapng; do
    [[ -e $f ]] || continue
    install -m 644 "$f" "$HERE/$(basename "$f")"
    printf '%-26s %4s packets %6s bytes\n' "$(basename "$f")" \
      "$(capinfos -T -r -c -M "$f" | cut -f2)" "$(stat -c %s "$f")"
  done
  log "done in $((SECONDS - start)) s"
}

main "$@"
