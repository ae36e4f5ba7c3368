#!/usr/bin/env python3
# WebSocket echo client (Python "websockets"): sends a scripted list of text/binary messages,
# waits for each echo, sends a ping (not in "short"), then closes with 1000 and a reason.
# For wss:// URLs: --ca trusts the test certificate, --server-name is sent as SNI, --keylog
# writes the TLS secrets (NSS key log format, as SSLKEYLOGFILE does), --tls12 and --ciphers
# pin the version and the cipher suite.
import argparse
import asyncio
import ssl

from websockets.asyncio.client import connect

LONG_TEXT = (
    "This message is longer than 125 bytes, so its frame header carries the payload length "
    "in the 16-bit extended length field (payload length byte = 126)."
)
JSON_TEXT = '{"type":"chat","room":"lobby","user":"alice","text":"hello, hello, hello"}'

SCRIPTS = {
    # ws-echo.pcap: 3 text messages (short, >125 bytes, non-ASCII UTF-8), 1 binary, a ping
    "full": [
        "Hello, osiscope!",
        LONG_TEXT,
        "Grüße aus Zürich — こんにちは 🌍",
        bytes(range(0, 256, 8)),
    ],
    # ws-deflate.pcap: repeated messages, so later frames compress to back-references, and a ping
    "deflate": [JSON_TEXT, JSON_TEXT, JSON_TEXT, LONG_TEXT, LONG_TEXT, bytes(64)],
    # ws-echo-any-sll2.pcap: one short message
    "short": ["hello from the any interface"],
}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--script", choices=SCRIPTS, default="full")
    parser.add_argument("--deflate", action="store_true", help="offer permessage-deflate")
    parser.add_argument("--ca", help="CA certificate (PEM) to trust for wss://")
    parser.add_argument("--server-name", help="TLS server name (SNI) to send and check")
    parser.add_argument("--keylog", help="append the TLS secrets to this file")
    parser.add_argument("--tls12", action="store_true", help="TLS 1.2 at most")
    parser.add_argument("--ciphers", help="OpenSSL cipher list (TLS 1.2 suites)")
    args = parser.parse_args()

    extra = {}
    if args.url.startswith("wss://"):
        tls = ssl.create_default_context(cafile=args.ca)
        if args.keylog:
            tls.keylog_filename = args.keylog
        if args.tls12:
            tls.maximum_version = ssl.TLSVersion.TLSv1_2
        if args.ciphers:
            tls.set_ciphers(args.ciphers)
        extra = {"ssl": tls, "server_hostname": args.server_name}

    compression = "deflate" if args.deflate else None
    async with connect(
        args.url, compression=compression, open_timeout=5, close_timeout=5, **extra
    ) as ws:
        for message in SCRIPTS[args.script]:
            await ws.send(message)
            echo = await asyncio.wait_for(ws.recv(), timeout=5)
            assert echo == message, (echo, message)
        if args.script != "short":
            pong = await ws.ping(b"osiscope-ping")
            await asyncio.wait_for(pong, timeout=5)
        await ws.close(code=1000, reason="normal closure, goodbye")


asyncio.run(main())
