// Socket.IO client (Node "socket.io-client"): connects with the default transports, waits for
// the upgrade to WebSocket, emits events (JSON, with ack, with a Buffer), waits for a ping, disconnects.
// For an https:// URL, CA is the certificate to trust (run with node --tls-keylog=FILE to
// record the TLS secrets).
"use strict";
const fs = require("fs");
const { io } = require("socket.io-client");

const [url, ca] = process.argv.slice(2);
setTimeout(() => { console.error("client timed out"); process.exit(2); }, 15000).unref();

const tls = ca ? { ca: fs.readFileSync(ca) } : {};
const socket = io(url, { reconnection: false, timeout: 5000, ...tls });
const once = (emitter, event) => new Promise((resolve) => emitter.once(event, resolve));

let connected = false;
let upgraded = false;
let started = false;
function startWhenReady() {
  if (connected && upgraded && !started) { started = true; run().catch(fail); }
}
socket.io.on("open", () => {
  socket.io.engine.once("upgrade", () => { upgraded = true; startWhenReady(); });
});
socket.on("connect", () => { connected = true; startWhenReady(); });
socket.on("connect_error", fail);

async function run() {
  // 1. a plain event with JSON arguments; the server answers with its own event
  const reply = once(socket, "chat reply");
  socket.emit("chat", { text: "hello from socket.io-client", tags: ["demo", "json"] });
  console.log("chat reply:", await reply);

  // 2. an event with an acknowledgement callback
  console.log("add ack:", await socket.timeout(5000).emitWithAck("add", 2, 40));

  // 3. a binary attachment (Buffer): one text frame with a placeholder + one binary frame
  const done = once(socket, "upload done");
  socket.emit("upload", "bytes.bin", Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0x03]));
  console.log("upload done:", await done);

  // 4. wait for one Engine.IO heartbeat (server "2" ping, client "3" pong), then disconnect
  await once(socket.io.engine, "ping");
  setTimeout(() => socket.disconnect(), 50);
}

socket.on("disconnect", (reason) => console.log(`disconnected: ${reason}`));

function fail(err) {
  console.error(err);
  process.exit(1);
}
