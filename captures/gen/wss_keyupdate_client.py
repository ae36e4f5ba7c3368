#!/usr/bin/env python3
# A wss:// client whose TLS is OpenSSL's own command-line client (openssl s_client), so
# that it can send a TLS 1.3 KeyUpdate in the middle of a WebSocket session: s_client
# reads the WebSocket bytes from its standard input, which this script writes (the HTTP
# upgrade request, then masked frames), and a line "K" alone is its command to send a
# KeyUpdate that asks the peer to update too. s_client writes the TLS secrets with
# -keylogfile. Each piece is written separately with a pause, so that s_client reads it
# as one chunk (it checks a chunk's first byte for its commands).
import argparse
import base64
import os
import struct
import subprocess
import time


def frame(opcode: int, payload: bytes, mask: bytes) -> bytes:
    """One final, masked client frame (RFC 6455 §5.2)."""
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    else:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + body


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--server-name", required=True)
    parser.add_argument("--keylog", required=True)
    parser.add_argument("--ciphersuite", default="TLS_AES_128_GCM_SHA256")
    args = parser.parse_args()

    cmd = [
        "openssl", "s_client", "-connect", f"127.0.0.1:{args.port}",
        "-servername", args.server_name, "-CAfile", args.ca, "-verify_return_error",
        "-tls1_3", "-ciphersuites", args.ciphersuite, "-keylogfile", args.keylog,
        "-no_ign_eof",
    ]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    assert proc.stdin is not None
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        "GET /keyupdate HTTP/1.1\r\nHost: osiscope.test\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    # Mask keys whose first byte is not a command letter of s_client.
    pieces = [
        request.encode(),
        frame(1, b"before the key update", b"\x11\x22\x33\x44"),
        b"K\n",
        frame(1, b"after the key update: new keys both ways", b"\x55\x66\x77\x08"),
        frame(8, struct.pack("!H", 1000) + b"bye", b"\x09\x0a\x0b\x0c"),
    ]
    for piece in pieces:
        time.sleep(0.3)
        proc.stdin.write(piece)
        proc.stdin.flush()
    time.sleep(0.5)
    err = proc.communicate(timeout=10)[1]  # closes s_client's input: it ends the session
    if proc.returncode != 0:
        raise SystemExit(f"s_client failed ({proc.returncode}): {err.decode(errors='replace')}")


main()
