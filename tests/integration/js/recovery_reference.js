// The reference for tests/integration/test_recovery_live.py: Node's socket.io 4.x server
// with connectionStateRecovery, serving the events of create_recovery_app() there.
// Run as `node recovery_reference.js`; it listens on 127.0.0.1, port 0, and prints
// `listening on PORT`. It resolves socket.io from NODE_PATH.
"use strict";

const http = require("http");
const { Server } = require("socket.io");

const httpServer = http.createServer((req, res) => {
  res.writeHead(404, { "Content-Type": "text/plain" });
  res.end("not found");
});
const io = new Server(httpServer, {
  connectionStateRecovery: { maxDisconnectionDuration: 30000, skipMiddlewares: true },
});
const connects = new Map();

io.on("connection", (socket) => {
  if (!connects.has(socket.id)) connects.set(socket.id, []);
  connects.get(socket.id).push(socket.recovered);
  socket.on("join", (room, ack) => { socket.join(room); ack(true); });
  socket.on("remember", (value, ack) => { socket.data.remembered = value; ack(true); });
  socket.on("recall", (ack) => ack(socket.data.remembered));
  socket.on("rooms", (ack) => ack([...socket.rooms].sort()));
  socket.on("connect_saw", (ack) => ack(connects.get(socket.id)));
  socket.on("broadcast", (emits, ack) => {
    for (const [event, value, to] of emits) {
      if (to === null) io.emit(event, value);
      else io.to(to).emit(event, value);
    }
    ack(true);
  });
  socket.on("wait_gone", async (sid, ack) => {
    for (let i = 0; i < 200 && io.of("/").sockets.has(sid); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    ack(!io.of("/").sockets.has(sid));
  });
});

httpServer.listen(0, "127.0.0.1", () => {
  console.log(`listening on ${httpServer.address().port}`);
});
