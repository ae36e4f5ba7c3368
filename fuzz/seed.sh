#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seed inputs: the repository's captures for
# `capture` and `pipeline`, their single frames for `decode`, and hand-written
# protocol inputs for the others, and for `tls` the TCP payloads of the TLS
# captures' connections with and without their key logs. Re-running adds nothing twice (file names
# are content hashes). The corpus is not committed: run this after a clone.
#
# Usage: fuzz/seed.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
corpus="$here/corpus"
mkdir -p "$corpus"/{capture,decode,reassembly,http,websocket,socketio,pipeline,tls}

# Captures over 1 MB make every execution slow and add little a smaller one lacks.
mapfile -t captures < <(
    cd "$root" &&
        { ls captures/*.pcap* tests/synthetic/*.pcap 2>/dev/null; find tests/corpus -name '*.pcap*'; } |
        sort -u | while read -r f; do
            [ -f "$f" ] && [ "$(stat -c %s "$f")" -le 1048576 ] && echo "$root/$f"
        done
)

python3 - "$corpus" "${captures[@]}" <<'PY'
"""Writes the seeds; each file is named by the SHA-1 of its content."""
import hashlib
import os
import struct
import sys
import zlib

corpus = sys.argv[1]
captures = sys.argv[2:]


def put(target, data):
    name = hashlib.sha1(data).hexdigest()
    path = os.path.join(corpus, target, name)
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)


# --- capture, pipeline: whole files -------------------------------------
for path in captures:
    with open(path, "rb") as f:
        data = f.read()
    put("capture", data)
    put("pipeline", data)

# --- decode: single frames ----------------------------------------------
# Must match LINKTYPES in fuzz_targets/decode.rs.
LINKTYPES = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 239, 9, 105, 127, 147]
FRAMES_PER_FILE = 24


def pcap_frames(data):
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\x34\xcd\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d", b"\xa1\xb2\xcd\x34"):
        e = ">"
    else:
        return
    # The Kuznetzov "modified" format has 8 more bytes per record header.
    extra = 8 if magic in (b"\x34\xcd\xb2\xa1", b"\xa1\xb2\xcd\x34") else 0
    linktype = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    pos = 24
    while pos + 16 + extra <= len(data):
        _, _, caplen, origlen = struct.unpack(e + "IIII", data[pos : pos + 16])
        pos += 16 + extra
        if caplen > 262144 or pos + caplen > len(data):
            return
        yield linktype, data[pos : pos + caplen], origlen
        pos += caplen


def pcapng_frames(data):
    pos, e, ifaces = 0, "<", []
    while pos + 12 <= len(data):
        if data[pos : pos + 4] == b"\x0a\x0d\x0d\x0a":
            e = "<" if data[pos + 8 : pos + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            ifaces = []
        btype, blen = struct.unpack(e + "II", data[pos : pos + 8])
        if blen < 12 or pos + blen > len(data):
            return
        body = data[pos + 8 : pos + blen - 4]
        if btype == 1 and len(body) >= 2:
            ifaces.append(struct.unpack(e + "H", body[:2])[0])
        elif btype == 6 and len(body) >= 20:
            iface, _, _, caplen, origlen = struct.unpack(e + "IIIII", body[:20])
            if iface < len(ifaces):
                yield ifaces[iface], body[20 : 20 + caplen], origlen
        elif btype == 3 and len(body) >= 4 and ifaces:
            origlen = struct.unpack(e + "I", body[:4])[0]
            yield ifaces[0], body[4 : 4 + origlen], origlen
        elif btype == 2 and len(body) >= 20:
            iface = struct.unpack(e + "H", body[:2])[0]
            _, _, caplen, origlen = struct.unpack(e + "IIII", body[4:20])
            if iface < len(ifaces):
                yield ifaces[iface], body[20 : 20 + caplen], origlen
        pos += blen


for path in captures:
    with open(path, "rb") as f:
        data = f.read()
    frames = pcapng_frames(data) if data[:4] == b"\x0a\x0d\x0d\x0a" else pcap_frames(data)
    try:
        for n, (lt, frame, origlen) in enumerate(frames):
            if n >= FRAMES_PER_FILE:
                break
            sel = LINKTYPES.index(lt) if lt in LINKTYPES else len(LINKTYPES) - 1
            sel |= 0x20  # with a TCP context
            if origlen > len(frame):
                sel |= 0x10 | (min(origlen - len(frame), 255) << 8)
            put("decode", struct.pack("<H", sel) + frame)
    except struct.error:
        pass

# --- reassembly: header + 7-byte operations -------------------------------
# Header: mode (bit 0 mid-stream), history selector, ooo limit (u16 LE), ISN.
# Op: kind (bit 7 absolute seq, bit 6 payload from input, kind % 8 == 7
# finish), seq distance (u32 LE, near: from ISN+1, minus 1024), length (u16 LE).


def ops(mode, hist, limit, isn, *items):
    out = bytes([mode, hist]) + struct.pack("<HI", limit, isn)
    for kind, delta, length, *extra in items:
        out += bytes([kind]) + struct.pack("<IH", delta, length)
        out += extra[0] if extra else b""
    return out


FIN = (7, 0, 0)
put("reassembly", ops(0, 0, 0xFFFF, 1000, (0, 1024, 100), (0, 1124, 100), FIN))
put("reassembly", ops(0, 0, 0xFFFF, 0xFFFFFF00, (0, 1224, 50), (0, 1124, 100), (0, 1024, 100), FIN))
put("reassembly", ops(0, 2, 300, 5, (0, 1100, 200), (0, 1400, 200), (0, 1800, 200), (0, 1024, 50), FIN))
put("reassembly", ops(0, 0, 0xFFFF, 7, (0, 1024, 64), (0x40, 1040, 8, b"XXXXXXXX"), (0, 1100, 10), FIN))
put("reassembly", ops(1, 1, 0, 77, (0x80, 5000, 16), (0x80, 5016 + (1 << 30), 4), (0x80, 4990, 40), FIN))
put("reassembly", ops(1, 6, 64, 9, (0x80, 100, 32), (0x80, 200, 32), (0x80, 180, 64), (0x80, 90, 200), FIN))

# --- http: flags, k, k piece lengths, stream -----------------------------
# Flags: bit 0 request side, bit 1 the answered request was HEAD, bit 2 keep
# polling request bodies, bits 4-7 keep the next responses' bodies.


def http(flags, lens, stream):
    return bytes([flags, len(lens)]) + bytes(lens) + stream


upgrade_req = (
    b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n"
    b"Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
)
upgrade_resp = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    b"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n"
)
put("http", http(1, [10, 40, 3], upgrade_req + b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"))
put("http", http(0, [50, 2], upgrade_resp + b"\x81\x05Hello"))
put("http", http(0, [], b"HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nContent-Length: 0\r\n\r\n"))
put(
    "http",
    http(
        1 | 4,
        [30],
        b"GET /socket.io/?EIO=4&transport=polling&t=NxYz HTTP/1.1\r\nHost: x\r\n\r\n"
        b"POST /socket.io/?EIO=4&transport=polling&sid=abc HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: text/plain;charset=UTF-8\r\nContent-Length: 2\r\n\r\n40",
    ),
)
put(
    "http",
    http(
        0xF0,
        [7, 60],
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n1E\r\n0{\"sid\":\"x\",\"upgrades\":[]}\x1e40\r\n0\r\nX-Trailer: y\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
        b"HTTP/1.1 204 No Content\r\n\r\n"
        b"HTTP/1.1 304 Not Modified\r\n\r\n",
    ),
)
put("http", http(1, [], b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"))
put("http", http(2, [], b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nHTTP/1.0 200 OK\r\n\r\nbody until close"))
put("http", http(1, [3, 3, 3], b"GET / HTTP/1.1\nHost: a\n\nGET /2 HTTP/1.0\r\n\r\n"))

# --- websocket: flags, k, k piece lengths, stream -------------------------
# Flags: bit 0 server side, bits 1-2 deflate (none, default, no context
# takeover, from a header), bit 3 keep previews only, bit 4 gap at the end.


def ws(flags, lens, stream):
    return bytes([flags, len(lens)]) + bytes(lens) + stream


def frame(op, payload, fin=True, rsv1=False, mask=None):
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | op
    n = len(payload)
    if n < 126:
        head = bytes([b0, n | (0x80 if mask else 0)])
    elif n < 65536:
        head = bytes([b0, 126 | (0x80 if mask else 0)]) + struct.pack(">H", n)
    else:
        head = bytes([b0, 127 | (0x80 if mask else 0)]) + struct.pack(">Q", n)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head += mask
    return head + payload


def deflate(messages, takeover=True):
    c = zlib.compressobj(wbits=-15)
    out = []
    for m in messages:
        if not takeover:
            c = zlib.compressobj(wbits=-15)
        d = c.compress(m) + c.flush(zlib.Z_SYNC_FLUSH)
        out.append(d[:-4] if d.endswith(b"\x00\x00\xff\xff") else d)
    return out


key = b"\x37\xfa\x21\x3d"
put("websocket", ws(0, [], frame(1, b"Hello", mask=key)))
put("websocket", ws(1, [1, 1], frame(1, b"Hello")))
put(
    "websocket",
    ws(1, [3, 5], frame(1, b"Hel", fin=False) + frame(9, b"") + frame(0, b"lo") + frame(10, b"x") + frame(8, b"\x03\xe8bye")),
)
put("websocket", ws(0, [4], frame(2, bytes(range(256))[:200], mask=key) + frame(8, b"\x03\xe9", mask=key)))
put("websocket", ws(1, [2, 2, 60], frame(2, bytes(300)) + frame(1, "é€😀".encode() * 3)))
put("websocket", ws(1 | 2, [4], b"\xc1\x07\xf2\x48\xcd\xc9\xc9\x07\x00" + b"\xc1\x05\xf2\x00\x11\x00\x00"))
a, b = deflate([b'42["chat",{"text":"hello hello hello"}]', b'42["chat",{"text":"hello again"}]'])
put("websocket", ws(0 | 2, [9], frame(1, a, rsv1=True, mask=key) + frame(1, b, rsv1=True, mask=key)))
a, b = deflate([b"x" * 400, b"y" * 300], takeover=False)
put("websocket", ws(1 | 4, [2, 3], frame(2, a[:5], fin=False, rsv1=True) + frame(0, a[5:]) + frame(2, b, rsv1=True)))
(a,) = deflate([b"0123456789" * 50])
put("websocket", ws(1 | 6, [], frame(1, a, rsv1=True) + frame(8, b"")))
put("websocket", ws(1 | 8 | 16, [], frame(1, b'0{"sid":"x"}') + frame(1, b"40") + frame(1, b'451-["up",{"_placeholder":true,"num":0}]') + frame(2, b"\x01\x02\x03")))

# --- socketio: flags, body -----------------------------------------------
# Flags: bit 0 Engine.IO v3, bit 1 from the client. Lines are WebSocket
# messages (0xff first: binary); the whole body is also a polling body.


def sio(flags, *lines):
    return bytes([flags]) + b"\n".join(lines)


open_pkt = b'0{"sid":"x","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'
put("socketio", sio(0, open_pkt, b"40", b'40{"sid":"abc"}', b"2probe", b"3probe", b"5", b"6"))
put("socketio", sio(2, b'42["chat",{"a":1}]', b"420[\"add\",2,40]", b"430[{\"sum\":42}]", b"431[1]"))
put("socketio", sio(2, b'451-["up",{"_placeholder":true,"num":0}]', b"\xff\x01\x02\x03\x04"))
put("socketio", sio(0, b'462-/admin,7[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]', b"\xffab", b"\xffcd"))
put("socketio", sio(0, b'44{"message":"not authorized"}', b'42/admin,["ev"]', b"41", b"1", b"2", b"3"))
put("socketio", bytes([0]) + open_pkt + b"\x1e40\x1e42[\"a\"]\x1ebAQID\x1e" + b"451-[{\"_placeholder\":true,\"num\":0}]\x1ebAAE=")
v3_open = '0{"sid":"x","upgrades":[],"pingInterval":25000,"pingTimeout":5000}'
put("socketio", bytes([1]) + f"{len(v3_open)}:{v3_open}2:40".encode() + "2:é€".encode() + b"8:b4AQIDBA")
put("socketio", bytes([1]) + b"\x00\x02\xff40\x01\x04\xff\x04\x01\x02\x03")

# --- tls: selector, then chunks `dir len_lo len_hi bytes` ------------------
# The selector picks a key log in the order of KEYLOGS in fuzz_targets/tls.rs
# (0xff: none). One seed per connection: its TCP payloads in frame order.
TLS_CAPTURES = [
    "wss-python-tls13.pcap",
    "wss-python-tls12-chacha.pcap",
    "wss-python-tls12-aesgcm.pcap",
    "wss-node-tls13-aes256.pcap",
    "socketio-https.pcap",
    "wss-keyupdate.pcap",
]


def tcp_payload(frame):
    """(src port, dst port, flags, payload) of an Ethernet/IPv4 or IPv6 TCP frame."""
    if len(frame) < 14:
        return None
    etype, ip = struct.unpack(">H", frame[12:14])[0], frame[14:]
    if etype == 0x0800 and len(ip) >= 20 and ip[9] == 6:
        total = struct.unpack(">H", ip[2:4])[0]
        tcp = ip[(ip[0] & 15) * 4 : total]
    elif etype == 0x86DD and len(ip) >= 40 and ip[6] == 6:
        tcp = ip[40 : 40 + struct.unpack(">H", ip[4:6])[0]]
    else:
        return None
    if len(tcp) < 20:
        return None
    sport, dport = struct.unpack(">HH", tcp[:4])
    return sport, dport, tcp[13], tcp[(tcp[12] >> 4) * 4 :]


root = os.path.dirname(os.path.dirname(os.path.abspath(corpus)))
for sel, name in enumerate(TLS_CAPTURES):
    path = os.path.join(root, "captures", name)
    if not os.path.exists(path):
        continue
    with open(path, "rb") as f:
        data = f.read()
    conns = {}  # client port -> (server port, chunks)
    for _, frame, _ in pcap_frames(data):
        seg = tcp_payload(frame)
        if seg is None:
            continue
        sport, dport, flags, payload = seg
        if flags & 0x12 == 0x02:  # SYN without ACK: a new connection
            conns[sport] = (dport, [])
        for client, (server, chunks) in conns.items():
            if payload and {sport, dport} == {client, server}:
                d = 0 if sport == client else 1
                for i in range(0, len(payload), 65535):
                    piece = payload[i : i + 65535]
                    chunks.append(bytes([d]) + struct.pack("<H", len(piece)) + piece)
    for _, chunks in conns.values():
        if chunks:
            put("tls", bytes([sel]) + b"".join(chunks))
            put("tls", b"\xff" + b"".join(chunks))

PY

for t in capture decode reassembly http websocket socketio pipeline tls; do
    printf '%-12s %5d seeds\n' "$t" "$(find "$corpus/$t" -type f | wc -l)"
done
