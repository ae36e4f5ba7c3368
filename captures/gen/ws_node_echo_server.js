// WebSocket echo server (Node "ws"): accepts ONE connection on HOST PORT, greets the client
// with a text message, echoes every message back, and exits after the close handshake.
"use strict";
const { WebSocketServer } = require("ws");

const [host, port] = [process.argv[2], Number(process.argv[3])];
setTimeout(() => { console.error("server timed out"); process.exit(2); }, 15000).unref();

const wss = new WebSocketServer({ host, port, perMessageDeflate: false });
wss.on("listening", () => console.log(`listening on ${host} port ${port}`));
wss.on("connection", (ws) => {
  ws.send("welcome from the ws server");
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on("close", () => wss.close()); // stop listening; the process then exits by itself
});
