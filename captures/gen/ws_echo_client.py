#!/usr/bin/env python3
# WebSocket echo client (Python "websockets"): sends a scripted list of text/binary messages,
# waits for each echo, sends a ping (not in "short"), then closes with 1000 and a reason.
import argparse
import asyncio

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
    args = parser.parse_args()

    compression = "deflate" if args.deflate else None
    async with connect(args.url, compression=compression, open_timeout=5, close_timeout=5) as ws:
        for message in SCRIPTS[args.script]:
            await ws.send(message)
            echo = await asyncio.wait_for(ws.recv(), timeout=5)
            assert echo == message, (echo, message)
        if args.script != "short":
            pong = await ws.ping(b"osiscope-ping")
            await asyncio.wait_for(pong, timeout=5)
        await ws.close(code=1000, reason="normal closure, goodbye")


asyncio.run(main())
