// Drives tests/integration/test_features_js.py's app (event middleware, rate limits,
// volatile emits, dynamic namespaces) with socket.io-client v4 from Node.
//
//   node features.js URL TRANSPORT
//
// Prints one line of JSON, the results, and exits 0; on any failure or after 15 s it
// prints the error and exits 1. socket.io-client comes from NODE_PATH.
"use strict";

const { ack, connect: socketTo, connected, disconnected, refused, run } =
  require("./client_helpers");

const [url, transport] = process.argv.slice(2);

function connect(namespace = "/", options = {}) {
  return socketTo(url + namespace, transport, options);
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

run(main, 15000);
