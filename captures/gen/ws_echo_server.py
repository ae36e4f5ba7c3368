#!/usr/bin/env python3
# WebSocket echo server (Python "websockets"): accepts ONE connection on --host/--port,
# echoes every text/binary message back unchanged, answers pings, and exits after the close.
# With --tls-cert/--tls-key it serves wss:// (TLS from Python's ssl module, i.e. OpenSSL).
import argparse
import asyncio
import ssl

from websockets.asyncio.server import serve


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--deflate", action="store_true", help="accept permessage-deflate")
    parser.add_argument("--tls-cert", help="certificate (PEM): serve wss://")
    parser.add_argument("--tls-key", help="private key (PEM) of --tls-cert")
    args = parser.parse_args()

    tls = None
    if args.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.tls_cert, args.tls_key)

    finished = asyncio.Event()

    async def echo(ws) -> None:
        try:
            async for message in ws:  # ends when the client's close frame arrives
                await ws.send(message)
        finally:
            finished.set()

    compression = "deflate" if args.deflate else None
    async with serve(
        echo, args.host, args.port, compression=compression, close_timeout=5, ssl=tls
    ):
        print(f"listening on {args.host}:{args.port}", flush=True)
        await asyncio.wait_for(finished.wait(), timeout=15)
    # leaving "async with" waits until the TCP connection is fully closed


asyncio.run(main())
