// What the Node scripts here share: sockets of socket.io-client v4 (from NODE_PATH)
// made for one transport, promises for their events and acknowledgements, and the
// run of a script's main() (one line of JSON on success, exit 1 on failure or after
// a deadline).
"use strict";

const { io } = require("socket.io-client");

const TIMEOUT = 5000;
const sockets = [];

// A socket to `url` over TRANSPORT ("websocket", "polling", or "upgrade": polling
// first, then the upgrade), without reconnection; disconnected when the script ends.
function connect(url, transport, options = {}) {
  const transports = transport === "upgrade" ? ["polling", "websocket"] : [transport];
  const socket = io(url, {
    transports, reconnection: false, forceNew: true, timeout: TIMEOUT, ...options,
  });
  sockets.push(socket);
  return socket;
}

function connected(socket) {
  return new Promise((resolve, reject) => {
    if (socket.connected) return resolve(socket);
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

function refused(socket) {
  return new Promise((resolve, reject) => {
    socket.once("connect", () => reject(new Error("connected, but a refusal was expected")));
    socket.once("connect_error", (err) => resolve({ message: err.message, data: err.data }));
  });
}

// Emit and resolve with every argument of the acknowledgement.
function ack(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(TIMEOUT).emit(event, ...args, (err, ...answer) => {
      if (err) reject(new Error(`no ack for ${event}: ${err.message}`));
      else resolve(answer);
    });
  });
}

function disconnected(socket) {
  return new Promise((resolve) => {
    if (!socket.connected) return resolve("already");
    socket.once("disconnect", (reason) => resolve(reason));
  });
}

function next(socket, event) {
  return new Promise((resolve) => socket.once(event, (...args) => resolve(args)));
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what, check) {
  for (let i = 0; i < 250; i++) {
    if (await check()) return;
    await pause(20);
  }
  throw new Error(`never: ${what}`);
}

// Run main(): print its result as one line of JSON and exit 0; print the error and
// exit 1 if it fails or has not finished within `deadline` ms.
function run(main, deadline, name = "script") {
  const timer = setTimeout(() => {
    console.log(`${name} timed out`);
    process.exit(1);
  }, deadline);
  main().then((result) => {
    console.log(JSON.stringify(result));
    clearTimeout(timer);
    for (const socket of sockets) socket.disconnect();
    process.exit(0);
  }, (err) => {
    console.log(`failed: ${err && err.stack || err}`);
    process.exit(1);
  });
}

module.exports = { ack, connect, connected, disconnected, next, pause, refused, run, until };
