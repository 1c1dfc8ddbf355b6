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

const { ack, connect: socketTo, connected, disconnected, pause, run, until } =
  require("./client_helpers");

const [urlA, urlB, transport] = process.argv.slice(2);

function connect(url, options = {}) {
  return socketTo(url, transport, options);
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

  const gone = disconnected(socket);
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

run(main, 20000);
