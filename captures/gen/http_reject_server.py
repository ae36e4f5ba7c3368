#!/usr/bin/env python3
# Plain HTTP server that refuses WebSocket upgrades: answers ONE request with
# "426 Upgrade Required" (Sec-WebSocket-Version: 13), closes the connection and exits.
import argparse
from http.server import BaseHTTPRequestHandler, HTTPServer


class RejectUpgrade(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 5  # seconds to wait for the request
    wbufsize = 8192  # buffer the reply so status line, headers and body leave in one segment

    def do_GET(self) -> None:
        body = b"Unsupported WebSocket version; this server speaks version 13 only.\n"
        self.send_response(426, "Upgrade Required")
        self.send_header("Sec-WebSocket-Version", "13")
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        # lingering close: let the client close first (it does, on "Connection: close"), so
        # the teardown order is the same on every run
        self.rfile.read()
        self.close_connection = True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    server = HTTPServer((args.host, args.port), RejectUpgrade)
    server.timeout = 15  # give up if no client shows up
    print(f"listening on {args.host}:{args.port}", flush=True)
    server.handle_request()
    server.server_close()


main()
