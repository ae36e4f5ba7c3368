#!/usr/bin/env python3
# WebSocket echo server (Python "websockets"): accepts ONE connection on --host/--port,
# echoes every text/binary message back unchanged, answers pings, and exits after the close.
import argparse
import asyncio

from websockets.asyncio.server import serve


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--deflate", action="store_true", help="accept permessage-deflate")
    args = parser.parse_args()

    finished = asyncio.Event()

    async def echo(ws) -> None:
        try:
            async for message in ws:  # ends when the client's close frame arrives
                await ws.send(message)
        finally:
            finished.set()

    compression = "deflate" if args.deflate else None
    async with serve(echo, args.host, args.port, compression=compression, close_timeout=5):
        print(f"listening on {args.host}:{args.port}", flush=True)
        await asyncio.wait_for(finished.wait(), timeout=15)
    # leaving "async with" waits until the TCP connection is fully closed


asyncio.run(main())
