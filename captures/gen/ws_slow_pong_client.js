// WebSocket client (Node "ws") for ws_slow_pong_server.js: sends three pings with payloads
// hb-1..hb-3, each after the pong of the one before, then two text messages one at a time
// (waiting for each echo), then closes with 1000.
"use strict";
const WebSocket = require("ws");

const url = process.argv[2];
setTimeout(() => { console.error("client timed out"); process.exit(2); }, 15000).unref();

const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 5000, autoPong: true });
const once = (event) => new Promise((resolve) => ws.once(event, (...a) => resolve(a)));

ws.on("open", async () => {
  for (const hb of ["hb-1", "hb-2", "hb-3"]) {
    const pong = once("pong");
    ws.ping(hb);
    const [data] = await pong;
    if (data.toString() !== hb) throw new Error(`pong for ${data}, expected ${hb}`);
  }
  for (const text of ["save draft 1", "save draft 2"]) {
    const echo = once("message");
    ws.send(text);
    const [data] = await echo;
    if (data.toString() !== text) throw new Error(`bad echo: ${data}`);
  }
  ws.close(1000, "done");
});
ws.on("close", (code) => console.log(`closed ${code}`));
ws.on("error", (err) => { console.error(err); process.exit(1); });
