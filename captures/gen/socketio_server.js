// Socket.IO server (Node "socket.io") on 127.0.0.1 PORT: serves ONE client over the default
// transports (HTTP long-polling, then WebSocket), answers its events, exits on disconnect.
// With CERT KEY CIPHER it serves https:// and wss:// (TLS 1.3, only the suite CIPHER).
"use strict";
const fs = require("fs");
const http = require("http");
const https = require("https");
const { Server } = require("socket.io");

const [port, cert, key, cipher] = [Number(process.argv[2]), ...process.argv.slice(3)];
setTimeout(() => { console.error("server timed out"); process.exit(2); }, 15000).unref();

const httpServer = cert
  ? https.createServer({
      cert: fs.readFileSync(cert),
      key: fs.readFileSync(key),
      minVersion: "TLSv1.3",
      ciphers: cipher,
    })
  : http.createServer();
// pingInterval is shortened (default 25 s) so that one Engine.IO ping/pong shows up quickly
const io = new Server(httpServer, { pingInterval: 1000, pingTimeout: 3000 });

// Answer the WebSocket handshake 200 ms late, so that the namespace connect always completes
// over long-polling first and every run shows the same order: open, connect, probe, noop, upgrade.
io.engine.use((req, res, next) => {
  if (new URL(req.url, "http://x").searchParams.get("transport") === "websocket") setTimeout(next, 200);
  else next();
});

io.on("connection", (socket) => {
  socket.on("chat", (message) => {
    socket.emit("chat reply", { from: "server", echo: message.text, length: message.text.length });
  });
  socket.on("add", (a, b, ack) => ack({ sum: a + b }));
  socket.on("upload", (name, data) => {
    socket.emit("upload done", { name, bytes: data.length, first: data[0], last: data[data.length - 1] });
  });
  socket.on("disconnect", (reason) => {
    console.log(`client disconnected: ${reason}`);
    io.close(); // closes the HTTP server too; the process then exits by itself
  });
});

httpServer.listen(port, "127.0.0.1", () => console.log(`listening on 127.0.0.1:${port}`));
