// Socket.IO server (Node "socket.io") whose handlers take their time: on 127.0.0.1 PORT it
// serves ONE client over WebSocket only. "save" is acknowledged after a sleep as long as the
// client asks for (a slow database write), "load" at once; the "/admin" namespace has its own
// "stats" with an ack; the server itself asks the client "confirm" and waits for its ack. Pings
// every 300 ms (pingTimeout 200 ms) so that several heartbeats show. Exits on disconnect.
"use strict";
const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2]);
setTimeout(() => { console.error("server timed out"); process.exit(2); }, 15000).unref();

const httpServer = http.createServer();
const io = new Server(httpServer, { transports: ["websocket"], pingInterval: 300, pingTimeout: 200 });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

io.on("connection", (socket) => {
  socket.on("save", async (doc, ack) => {
    await sleep(doc.sleep_ms);
    ack({ saved: doc.id });
  });
  socket.on("load", (id, ack) => ack({ id, body: "draft" }));
  socket.on("ready", async () => {
    const answer = await socket.timeout(2000).emitWithAck("confirm", "publish?");
    console.log("client confirmed:", answer);
  });
  socket.on("disconnect", (reason) => {
    console.log(`client disconnected: ${reason}`);
    io.close();
  });
});
io.of("/admin").on("connection", (socket) => {
  socket.on("stats", async (ack) => {
    await sleep(15);
    ack({ clients: 1 });
  });
});

httpServer.listen(port, "127.0.0.1", () => console.log(`listening on 127.0.0.1:${port}`));
