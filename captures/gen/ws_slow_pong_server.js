// WebSocket server (Node "ws") that answers slowly: on 127.0.0.1 PORT, accepts ONE connection,
// answers each ping with its pong 50 ms late (autoPong off, the pong sent by a timer) and
// echoes each message back 30 ms late, then exits after the close handshake. A stand-in for
// a server whose event loop is busy.
"use strict";
const { WebSocketServer } = require("ws");

const port = Number(process.argv[2]);
setTimeout(() => { console.error("server timed out"); process.exit(2); }, 15000).unref();

const wss = new WebSocketServer({ host: "127.0.0.1", port, perMessageDeflate: false, autoPong: false });
wss.on("listening", () => console.log(`listening on 127.0.0.1 port ${port}`));
wss.on("connection", (ws) => {
  ws.on("ping", (data) => setTimeout(() => ws.pong(data), 50));
  ws.on("message", (data, isBinary) => setTimeout(() => ws.send(data, { binary: isBinary }), 30));
  ws.on("close", () => wss.close());
});
