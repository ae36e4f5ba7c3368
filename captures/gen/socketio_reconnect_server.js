// Socket.IO server (Node "socket.io") for a client that reconnects: on 127.0.0.1 PORT, over
// WebSocket only, with connection-state recovery (Socket.IO >= 4.6). When the client says
// "bye-transport" the server closes the client's transport (as a network drop would): the
// client reconnects and its session is recovered (same Socket.IO id, missed events replayed).
// When it says "bye-server" the Socket.IO server is closed and a new one started on the same
// port 300 ms later (a restart): the client reconnects, offers its old session, and gets a new
// one. Exits when the client disconnects from the new server.
"use strict";
const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2]);
setTimeout(() => { console.error("server timed out"); process.exit(2); }, 15000).unref();

function start(generation) {
  const httpServer = http.createServer();
  const io = new Server(httpServer, {
    transports: ["websocket"],
    pingInterval: 500,
    pingTimeout: 400,
    connectionStateRecovery: { maxDisconnectionDuration: 10000 },
  });
  io.on("connection", (socket) => {
    console.log(`server ${generation}: connection ${socket.id}, recovered ${socket.recovered}`);
    socket.emit("welcome", { generation, recovered: socket.recovered });
    socket.on("note", (text, ack) => ack({ generation, got: text }));
    socket.on("bye-transport", () => socket.conn.close());
    socket.on("bye-server", () => {
      io.close();
      setTimeout(() => start(generation + 1), 300);
    });
    socket.on("disconnect", (reason) => {
      console.log(`server ${generation}: disconnect ${reason}`);
      if (generation > 1 && reason === "client namespace disconnect") io.close();
    });
  });
  httpServer.listen(port, "127.0.0.1", () => console.log(`listening on 127.0.0.1:${port}`));
}
start(1);
