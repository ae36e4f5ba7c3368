// Socket.IO client (Node "socket.io-client") for socketio_reconnect_server.js: reconnects by
// itself (after 100-200 ms). First session: a note with an ack, then "bye-transport". Second
// (recovered) session: a note, then "bye-server". Third session (after the restart): a note,
// then it disconnects.
"use strict";
const { io } = require("socket.io-client");

const url = process.argv[2];
setTimeout(() => { console.error("client timed out"); process.exit(2); }, 15000).unref();

const socket = io(url, {
  transports: ["websocket"],
  reconnectionDelay: 100,
  reconnectionDelayMax: 200,
  randomizationFactor: 0,
  timeout: 5000,
});
let sessions = 0;
socket.on("welcome", async (w) => {
  sessions += 1;
  console.log(`session ${sessions}:`, w, "recovered", socket.recovered);
  const ack = await socket.timeout(3000).emitWithAck("note", `session ${sessions}`);
  console.log("note ack:", ack);
  if (sessions === 1) socket.emit("bye-transport");
  else if (sessions === 2) socket.emit("bye-server");
  else setTimeout(() => socket.disconnect(), 50);
});
socket.on("disconnect", (reason) => console.log(`disconnected: ${reason}`));
socket.on("connect_error", (err) => console.log(`connect error: ${err.message}`));
