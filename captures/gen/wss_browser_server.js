// The server side of a browser session over https:// and wss:// (Node "ws" over Node's TLS,
// i.e. OpenSSL): on HOST PORT with the test certificate CERT/KEY, serves GET / a page whose
// script opens wss://<same host>/chat, sends two text messages and a binary one, waits for
// the echoes and closes. The page's <img src="/done"> is answered only after the WebSocket
// has closed, so the browser's load event (and the end of `chromium --dump-dom`) comes after
// the whole session. Exits once /done has been answered.
"use strict";
const fs = require("fs");
const https = require("https");
const { WebSocketServer } = require("ws");

const [host, port, cert, key] = process.argv.slice(2);
setTimeout(() => { console.error("server timed out"); process.exit(2); }, 15000).unref();

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>osiscope wss</title><link rel="icon" href="data:,"></head>
<body><p id="log">starting</p><img src="/done" alt="">
<script>
const log = (s) => { document.getElementById("log").textContent += "\\n" + s; };
const ws = new WebSocket("wss://" + location.host + "/chat");
ws.binaryType = "arraybuffer";
let echoes = 0;
ws.onopen = () => {
  ws.send("hello from the browser");
  ws.send(JSON.stringify({ event: "chat", text: "a message that the server echoes back" }));
  ws.send(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
};
ws.onmessage = (m) => {
  log("echo: " + (typeof m.data === "string" ? m.data : m.data.byteLength + " bytes"));
  if (++echoes === 3) ws.close(1000, "done");
};
ws.onclose = (e) => log("closed " + e.code);
</script></body></html>
`;

let closed = false;
let waiting = null;
const done = (res) => {
  res.writeHead(204);
  res.end();
  // let the browser's last packets (the page connection's close) be recorded
  setTimeout(() => process.exit(0), 500);
};

const server = https.createServer({
  cert: fs.readFileSync(cert),
  key: fs.readFileSync(key),
}, (req, res) => {
  if (req.url === "/") {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(PAGE);
  } else if (req.url === "/done") {
    if (closed) done(res); else waiting = res;
  } else {
    res.writeHead(404);
    res.end();
  }
});
// permessage-deflate for every message, as the browser offers it
const wss = new WebSocketServer({ server, path: "/chat", perMessageDeflate: { threshold: 0 } });
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on("close", () => {
    closed = true;
    if (waiting) done(waiting);
  });
});
server.listen(Number(port), host, () => console.log(`listening on ${host} port ${port}`));
