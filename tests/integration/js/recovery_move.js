// Connection state recovery across two nodes with socket.io-client v4, for
// tests/integration/test_recovery_live.py.
//
//   node recovery_move.js URL_A URL_B TRANSPORT
//
// A socket on node A joins a room and receives a broadcast; its transport is closed
// under it; node A emits while it is away; then it reconnects to node B (as a load
// balancer without sticky sessions would send it), with what socket.io-client keeps
// for recovery (its pid and last offset). Prints one line of JSON, the results, and
// exits 0; on any failure or after 20 s it prints the error and exits 1.
"use strict";

const { io } = require("socket.io-client");

const [urlA, urlB, transport] = process.argv.slice(2);
const TIMEOUT = 5000;
const sockets = [];

function connect(url, options = {}) {
  const socket = io(url, {
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

function ack(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(TIMEOUT).emit(event, ...args, (err, ...answer) => {
      if (err) reject(new Error(`no ack for ${event}: ${err.message}`));
      else resolve(answer);
    });
  });
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what, check) {
  for (let i = 0; i < 250; i++) {
    if (await check()) return;
    await pause(20);
  }
  throw new Error(`never: ${what}`);
}

async function main() {
  const news = [];
  const other = await connected(connect(urlA));
  const watcherB = await connected(connect(urlB));
  await until("both nodes read the queue", async () => {
    const [[a], [b]] = [await ack(other, "logged"), await ack(watcherB, "logged")];
    return a.queue === "connected" && b.queue === "connected";
  });
  const socket = connect(urlA);
  socket.on("news", (...args) => news.push(args));
  await connected(socket);
  const firstId = socket.id;
  await ack(socket, "join", "blue");
  await ack(socket, "remember", "kept");
  await ack(other, "broadcast", [["news", 0, null]]);
  await until("the first broadcast", () => news.length >= 1);

  const gone = new Promise((resolve) => socket.once("disconnect", resolve));
  socket.io.engine.close();
  const reason = await gone;
  await ack(other, "wait_gone", firstId);
  await ack(other, "broadcast", [
    ["news", 1, null], ["news", 2, "blue"], ["news", 3, "green"], ["news", 4, firstId],
  ]);
  await until("node B logged them", async () => (await ack(watcherB, "logged"))[0].logged >= 5);

  // what socket.io-client keeps for recovery, handed to a socket of node B
  const moved = connect(urlB, { autoConnect: false });
  moved._pid = socket._pid;
  moved._lastOffset = socket._lastOffset;
  moved.on("news", (...args) => news.push(args));
  moved.connect();
  await connected(moved);
  const [rooms] = await ack(moved, "rooms");
  const [connectSaw] = await ack(moved, "connect_saw");
  const [recalled] = await ack(moved, "recall");
  await until("the missed broadcasts", () => news.length >= 4);
  await pause(100); // nothing more should come
  return {
    firstId, firstRecovered: socket.recovered, reason, recoveredNews: 1,
    sameId: moved.id === firstId, recovered: moved.recovered, news, rooms, connectSaw,
    recalled,
  };
}

const timer = setTimeout(() => {
  console.log("timed out");
  process.exit(1);
}, 20000);

main().then((result) => {
  console.log(JSON.stringify(result));
  clearTimeout(timer);
  for (const socket of sockets) socket.disconnect();
  process.exit(0);
}, (err) => {
  console.log(String(err && err.stack || err));
  process.exit(1);
});
