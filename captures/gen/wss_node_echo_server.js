// wss:// echo server (Node "ws" over Node's TLS, i.e. OpenSSL): accepts ONE connection on
// HOST PORT with the test certificate CERT/KEY, offering only the TLS 1.3 suite CIPHER,
// echoes every message back, and exits after the close handshake.
"use strict";
const fs = require("fs");
const https = require("https");
const { WebSocketServer } = require("ws");

const [host, port, cert, key, cipher] = process.argv.slice(2);
setTimeout(() => { console.error("server timed out"); process.exit(2); }, 15000).unref();

const server = https.createServer({
  cert: fs.readFileSync(cert),
  key: fs.readFileSync(key),
  minVersion: "TLSv1.3",
  ciphers: cipher,
});
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on("close", () => { wss.close(); server.close(); });
});
server.listen(Number(port), host, () => console.log(`listening on ${host} port ${port}`));
