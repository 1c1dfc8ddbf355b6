// Drives tests/integration/test_features_js.py's app (event middleware, rate limits,
// volatile emits, dynamic namespaces) with socket.io-client v4 from Node.
//
//   node features.js URL TRANSPORT
//
// Prints one line of JSON, the results, and exits 0; on any failure or after 15 s it
// prints the error and exits 1. socket.io-client comes from NODE_PATH.
"use strict";

const { io } = require("socket.io-client");

const [url, transport] = process.argv.slice(2);
const TIMEOUT = 5000;
const sockets = [];

function connect(namespace = "/", options = {}) {
  const socket = io(url + namespace, {
    transports: [transport], reconnection: false, forceNew: true, timeout: TIMEOUT,
    ...options,
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

async function main() {
  const refusal = await refused(connect("/", { auth: { token: "wrong" } }));
  const root = await connected(connect("/", { auth: { token: "fine" } }));
  const forbidden = await ack(root, "forbidden");
  const limited = [await ack(root, "limited", 1), await ack(root, "limited", 2)];

  const audited = await connected(connect("/audited"));
  const gone = disconnected(audited);
  const secret = await ack(audited, "secret");
  const auditedReason = await gone;

  const positions = [];
  root.on("position", (n) => positions.push(n));
  const done = new Promise((resolve) => root.once("done", resolve));
  const [dropped] = await ack(root, "burst", 20);
  await done;

  const room = await connected(connect("/room-12"));
  const where = await ack(room, "where");
  const invalid = await refused(connect("/room-x"));

  return { refusal, forbidden, limited, secret, auditedReason, positions, dropped, where,
           invalid };
}

const timer = setTimeout(() => {
  console.log("timed out");
  process.exit(1);
}, 15000);

main().then((result) => {
  console.log(JSON.stringify(result));
  sockets.forEach((socket) => socket.disconnect());
  clearTimeout(timer);
  process.exit(0);
}, (err) => {
  console.log(`failed: ${err.stack || err}`);
  process.exit(1);
});
