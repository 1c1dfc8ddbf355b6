// The reference app: Node's socket.io 4.x server doing what tests/oracle/plain_app.py
// does with Flask-SocketIO. Run as `node reference_app.js PING_INTERVAL PING_TIMEOUT`;
// it listens on 127.0.0.1, port 0, and prints `listening on PORT`. It resolves
// socket.io from the repository's node_modules (NODE_PATH).
"use strict";

const http = require("http");
const { Server } = require("socket.io");

const [pingInterval, pingTimeout] = process.argv.slice(2).map(Number);
const httpServer = http.createServer((req, res) => {
  res.writeHead(404, { "Content-Type": "text/plain" });
  res.end("not found");
});
const io = new Server(httpServer, {
  pingInterval,
  pingTimeout,
  maxHttpBufferSize: 1e6,
  connectTimeout: 800,
  cors: { origin: "*" },
});

function common(socket) {
  // (an ack callback, when the client asked for one, is not echoed: it is left unanswered)
  socket.on("message", (...args) =>
    socket.emit("message-back", ...args.filter((arg) => typeof arg !== "function")));
  socket.on("message-with-ack", (...args) => {
    const ack = args.pop();
    ack(...args);
  });
  socket.on("burst", (count) => {
    for (let i = 0; i < count; i++) socket.emit("item", i);
  });
  socket.on("ask", (question) => {
    socket.emit("question", question, (...answer) => socket.emit("answer", ...answer));
  });
  socket.on("disconnect-me", () => socket.disconnect());
  socket.on("close-me", () => socket.disconnect(true));
  socket.on("join-and-broadcast", (room) => {
    socket.join(room);
    socket.nsp.to(room).emit("room-message", room);
  });
}

io.on("connection", (socket) => {
  socket.emit("auth", socket.handshake.auth);
  common(socket);
});

io.of("/custom").on("connection", (socket) => {
  socket.emit("auth", socket.handshake.auth);
  common(socket);
});

io.of("/refused").use((socket, next) => next(new Error("not allowed")));
io.of("/refused-with-data").use((socket, next) => {
  const error = new Error("not allowed");
  error.data = { reason: "no token" };
  next(error);
});

httpServer.listen(0, "127.0.0.1", () => {
  console.log(`listening on ${httpServer.address().port}`);
});
process.on("SIGTERM", () => process.exit(0));
