// Drives tests/integration/test_recovery_live.py's app with socket.io-client v4
// (connection state recovery, socket.io-client >= 4.6).
//
//   node recovery.js URL TRANSPORT
//
// One socket joins a room and receives a broadcast; its transport is closed under it
// (socket.io.engine.close()); a second socket has the server emit while it is away;
// the first reconnects. Prints one line of JSON, the results, and exits 0; on any
// failure or after 20 s it prints the error and exits 1.
"use strict";

const { ack, connect: socketTo, connected, disconnected, pause, run } =
  require("./client_helpers");

const [url, transport] = process.argv.slice(2);

function connect(options = {}) {
  return socketTo(url, transport, options);
}

async function main() {
  const news = [];
  const socket = connect();
  socket.on("news", (...args) => news.push(args));
  await connected(socket);
  const firstId = socket.id;
  const firstRecovered = socket.recovered;
  await ack(socket, "join", "blue");
  await ack(socket, "remember", "kept");
  const other = await connected(connect());
  await ack(other, "broadcast", [["news", 0, null]]);
  while (news.length < 1) await pause(10);

  const gone = disconnected(socket);
  socket.io.engine.close(); // the transport closes under the socket
  const reason = await gone;
  await ack(other, "wait_gone", firstId);
  await ack(other, "broadcast", [
    ["news", 1, null], ["news", 2, "blue"], ["news", 3, "green"], ["news", 4, firstId],
  ]);
  const recoveredNews = news.length;

  socket.connect();
  await connected(socket);
  const [rooms] = await ack(socket, "rooms");
  const [connectSaw] = await ack(socket, "connect_saw");
  const [recalled] = await ack(socket, "recall");
  while (news.length < 4) await pause(10);
  await pause(100); // nothing more should come
  return {
    firstId, firstRecovered, reason, recoveredNews, sameId: socket.id === firstId,
    recovered: socket.recovered, news, rooms, connectSaw, recalled,
  };
}

run(main, 20000);
