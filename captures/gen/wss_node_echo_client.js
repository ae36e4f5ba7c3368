// wss:// echo client (Node "ws"): connects to URL trusting CA, sending SERVERNAME as SNI,
// sends a short text message, then one of 40,000 bytes (more than two TLS records of
// 16 KiB), waits for each echo, and closes with 1000. Run it with node --tls-keylog=FILE
// to record the TLS secrets.
"use strict";
const fs = require("fs");
const WebSocket = require("ws");

const [url, ca, servername] = process.argv.slice(2);
setTimeout(() => { console.error("client timed out"); process.exit(2); }, 15000).unref();

const big = Array.from({ length: 40000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join("");
const messages = ["hello over TLS 1.3", big];
const ws = new WebSocket(url, {
  ca: fs.readFileSync(ca),
  servername,
  perMessageDeflate: false,
  handshakeTimeout: 5000,
});
let sent = 0;
ws.on("open", () => ws.send(messages[sent++]));
ws.on("message", (data) => {
  if (data.toString() !== messages[sent - 1]) throw new Error("bad echo");
  if (sent < messages.length) ws.send(messages[sent++]);
  else ws.close(1000, "done over TLS");
});
ws.on("close", (code, reason) => console.log(`closed ${code} ${reason}`));
ws.on("error", (err) => { console.error(err); process.exit(1); });
