// A WebSocket oracle: Node's `ws` (with permessage-deflate offered, as it is by
// default) against our server's Engine.IO WebSocket endpoint, frame-level checks.
//
//   node ws_frames.js URL SCENARIO
//
// URL is the server's http://host:port. Scenarios:
//   echo      the Engine.IO opening, namespace connect, a 6 KB echo (compressed
//             both ways when the server accepts deflate), ping/pong, close 1000
//   too-big   a 2 MB message against the server's 1 MB limit: the close code
// Prints one line of JSON and exits 0; on failure or after 15 s prints the error
// and exits 1. `ws` comes from the repo's node_modules (NODE_PATH, set by the test).
"use strict";

const WebSocket = require("ws");

const [url, scenario] = process.argv.slice(2);
setTimeout(() => { console.error("timed out"); process.exit(1); }, 15000).unref();

const ws = new WebSocket(url.replace(/^http/, "ws") + "/socket.io/?EIO=4&transport=websocket",
                         { perMessageDeflate: true });
const received = [];
let waiting = null;
ws.on("message", (data, isBinary) => {
  const text = isBinary ? data : data.toString();
  if (text === "2") { ws.send("3"); return; }  // Engine.IO ping
  received.push(text);
  if (waiting) { const resolve = waiting; waiting = null; resolve(); }
});
const closed = new Promise((resolve) => ws.on("close", (code) => resolve(code)));
ws.on("error", () => {});

function next() {
  if (received.length) return Promise.resolve(received.shift());
  return new Promise((resolve) => { waiting = resolve; }).then(() => received.shift());
}

async function main() {
  await new Promise((resolve, reject) => { ws.once("open", resolve); ws.once("error", reject); });
  const extensions = ws.extensions;
  const opening = await next();
  ws.send("40");
  const connected = await next();
  const result = { extensions, opening: opening.slice(0, 2), connected: connected.slice(0, 3) };
  if (scenario === "echo") {
    const text = "é".repeat(3000);
    ws.send("42" + JSON.stringify(["echo", text]));
    const reply = await next();
    result.echoed = JSON.stringify(JSON.parse(reply.slice(2))) === JSON.stringify(["echo", text]);
    const pong = new Promise((resolve) => ws.once("pong", (data) => resolve(data.toString())));
    ws.ping("are you there");
    result.pong = await pong;
    ws.close(1000);
    result.close = await closed;
  } else if (scenario === "too-big") {
    ws.send("42" + JSON.stringify(["echo", "x".repeat(2000000)]));
    result.close = await closed;
  }
  console.log(JSON.stringify(result));
  process.exit(0);
}

main().catch((error) => { console.error(error); process.exit(1); });
