// WebSocket echo client (Node "ws"): connects to URL, reads the server's greeting, sends three
// text messages one at a time waiting for each echo, then closes with 1000 and a reason.
"use strict";
const WebSocket = require("ws");

const url = process.argv[2];
const messages = ["first message", "second message, a little longer", "third and last"];
setTimeout(() => { console.error("client timed out"); process.exit(2); }, 15000).unref();

const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 5000 });
let received = 0;
ws.on("message", (data) => {
  received += 1;
  if (received > 1 && data.toString() !== messages[received - 2]) throw new Error(`bad echo: ${data}`);
  if (received <= messages.length) ws.send(messages[received - 1]);
  else ws.close(1000, "done, thanks");
});
ws.on("close", (code, reason) => console.log(`closed ${code} ${reason}`));
ws.on("error", (err) => { console.error(err); process.exit(1); });
