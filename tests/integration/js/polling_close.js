// socket.io-client v4 on long-polling only, closed by the server.
//
//   node polling_close.js URL MODE
//
// MODE "kick": the client emits "kick" (the server emits "bye" and disconnects it);
// MODE "wait": the client prints {"ready": true} once connected and waits for the
// test to stop the server. Prints {"reason", "ms"}: the disconnect reason and the
// milliseconds from the kick (or from being ready) to the disconnect; exits 1 after 20 s.
"use strict";

const { io } = require("socket.io-client");

const [url, mode] = process.argv.slice(2);
const socket = io(url, { transports: ["polling"], reconnection: false, forceNew: true });
let start = 0;
socket.on("connect", () => {
  start = Date.now();
  if (mode === "kick") socket.emit("kick");
  else console.log(JSON.stringify({ ready: true }));
});
socket.on("disconnect", (reason) => {
  console.log(JSON.stringify({ reason, ms: Date.now() - start }));
  process.exit(0);
});
setTimeout(() => { console.log("no disconnect within 20 s"); process.exit(1); }, 20000);
