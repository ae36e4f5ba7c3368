// Socket.IO client (Node "socket.io-client") for socketio_slow_server.js, WebSocket only:
// "save" three times with acks (sleeps of 40, 80 and 120 ms asked of the server), "load"
// once, "stats" on "/admin" (whose ack id 0 is the namespace's own), answers the server's
// "confirm" after 20 ms, waits for three heartbeats, disconnects.
"use strict";
const { io } = require("socket.io-client");

const url = process.argv[2];
setTimeout(() => { console.error("client timed out"); process.exit(2); }, 15000).unref();

const opts = { transports: ["websocket"], reconnection: false, timeout: 5000 };
const socket = io(url, opts);
const once = (emitter, event) => new Promise((resolve) => emitter.once(event, resolve));

socket.on("confirm", (question, ack) => setTimeout(() => ack("yes"), 20));
socket.on("connect_error", fail);
socket.once("connect", () => run().catch(fail));

async function run() {
  for (const [id, sleep_ms] of [[1, 40], [2, 80], [3, 120]]) {
    console.log("save ack:", await socket.timeout(5000).emitWithAck("save", { id, sleep_ms }));
  }
  console.log("load ack:", await socket.timeout(5000).emitWithAck("load", 2));
  const admin = io(url + "/admin", opts);
  await once(admin, "connect");
  console.log("stats ack:", await admin.timeout(5000).emitWithAck("stats"));
  socket.emit("ready");
  for (let i = 0; i < 3; i++) await once(socket.io.engine, "ping");
  setTimeout(() => socket.disconnect(), 50);
}

socket.on("disconnect", (reason) => console.log(`disconnected: ${reason}`));

function fail(err) {
  console.error(err);
  process.exit(1);
}
