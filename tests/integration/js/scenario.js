// Drives tests/integration/live_app.py with socket.io-client v4 from Node.
//
//   node scenario.js URL TRANSPORT SCENARIO
//
// TRANSPORT is "websocket", "polling" or "upgrade" (polling first, then the
// upgrade). Prints one line of JSON, the scenario's result, and exits 0; on any
// failure or after 15 s it prints the error and exits 1. socket.io-client comes
// from the repo's node_modules (NODE_PATH, set by the test).
"use strict";

const { ack, connect: socketTo, connected, next, refused, run } =
  require("./client_helpers");

const [url, transport, scenario] = process.argv.slice(2);

function connect(namespace = "/", options = {}) {
  return socketTo(url + namespace, transport, options);
}

const scenarios = {
  async echo() {
    const socket = await connected(connect());
    const echoed = next(socket, "echo");
    const answer = await ack(socket, "echo", "hello", { n: 1 });
    return { transport: socket.io.engine.transport.name, answer, echoed: await echoed,
             whoami: (await ack(socket, "whoami"))[0] === socket.id };
  },

  async binary() {
    const socket = await connected(connect());
    const blob = Buffer.from([...Array(256).keys()]);
    const [back] = await ack(socket, "echo", blob);
    return { same: Buffer.isBuffer(back) && back.equals(blob), length: back.length };
  },

  async server_calls_client() {
    const socket = await connected(connect());
    socket.on("question", (question, callback) => callback(`${question}!`));
    const [answer] = await ack(socket, "ask", "from node");
    return { answer };
  },

  async server_callback() {
    const socket = await connected(connect());
    socket.on("question", (question, callback) => callback(question.toUpperCase()));
    const answered = next(socket, "answer");
    await ack(socket, "ask_later", "shout it");
    return { answer: await answered };
  },

  async namespaces() {
    const chat = await connected(connect("/chat"));
    const answer = await ack(chat, "echo", "in chat");
    const privateRefusal = await refused(connect("/private"));
    const unknown = await refused(connect("/nowhere"));
    return { answer, privateRefusal, unknown };
  },

  async rooms_and_broadcast() {
    const [blue, alsoBlue, red] = await Promise.all([connect(), connect(), connect()].map(connected));
    const joined = [await ack(blue, "join", "blue"), await ack(alsoBlue, "join", "blue"),
                    await ack(red, "join", "red")];
    const redSaw = [];
    red.onAny((event) => redSaw.push(event));
    const heard = [next(blue, "said"), next(alsoBlue, "said")];
    await ack(blue, "say", "blue", "hi blue");
    const said = await Promise.all(heard);
    const shouted = [next(blue, "shouted"), next(alsoBlue, "shouted")];
    const redShouts = [];
    red.on("shouted", (text) => redShouts.push(text));
    await ack(red, "shout", "hey");
    const others = await Promise.all(shouted);
    await ack(red, "echo", "sync");
    return { joined, said, fromBlue: said[0][0].from === blue.id, others, redSaw, redShouts };
  },

  async auth() {
    const refusal = await refused(connect("/", { auth: { token: "wrong" } }));
    const welcome = await connected(connect("/", { auth: { token: "secret" } }));
    return { refusal, welcomed: welcome.connected };
  },

  async session() {
    const socket = await connected(connect());
    const before = await ack(socket, "recall", "name");
    await ack(socket, "remember", "name", "grace");
    const after = await ack(socket, "recall", "name");
    return { before, after };
  },

  async background_task() {
    const socket = await connected(connect());
    const ticks = [];
    const done = new Promise((resolve) => socket.on("tick", (n) => {
      ticks.push(n);
      if (ticks.length === 3) resolve();
    }));
    await ack(socket, "ticks", 3);
    await done;
    return { ticks };
  },

  async server_disconnect() {
    const socket = await connected(connect());
    const bye = next(socket, "bye");
    const gone = next(socket, "disconnect");
    socket.emit("kick");
    return { bye: await bye, reason: (await gone)[0], connected: socket.connected };
  },

  async upgrade() {
    const socket = connect();
    // The engine opens on polling and probes WebSocket right after: look at it then.
    const upgraded = new Promise((resolve) => socket.io.once("open", () => {
      const first = socket.io.engine.transport.name;
      socket.io.engine.once("upgrade", (to) => resolve({ first, to: to.name }));
    }));
    await connected(socket);
    const { first, to } = await upgraded;
    const answer = await ack(socket, "echo", "after the upgrade");
    return { first, to, now: socket.io.engine.transport.name, answer };
  },
};

run(async () => {
  const play = scenarios[scenario];
  if (!play) throw new Error(`unknown scenario ${scenario}`);
  return play();
}, 15000, `scenario ${scenario}`);
