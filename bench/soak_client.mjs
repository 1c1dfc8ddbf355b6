// The soak test's clients: N socket.io-client v4 connections, each sending acked
// messages in a loop for --duration seconds; one JSON report on stdout.
//
//   node bench/soak_client.mjs --url http://127.0.0.1:PORT --pid SERVER_PID \
//        --clients 500 --duration 60 [--warmup 3] [--interval 20] [--ack-timeout 10]
//
// After every client is connected it sends for --warmup seconds, reads the server's
// RSS (VmRSS of /proc/PID/status), sends for --duration seconds, waits for the acks
// still due (bounded by --ack-timeout), reads the RSS again, and disconnects. A message
// is lost when its ack never came or came back different. Only 127.0.0.1 is accepted.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { io } = require('socket.io-client');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].slice(2)] = process.argv[i + 1];
const url = String(args.url || '');
if (new URL(url).hostname !== '127.0.0.1') {
  console.error('soak_client.mjs only sends traffic to 127.0.0.1');
  process.exit(2);
}
const pid = Number(args.pid);
const clients = Number(args.clients || 500);
const duration = Number(args.duration || 60) * 1000;
const warmup = Number(args.warmup || 3) * 1000;
const interval = Number(args.interval || 20);
const ackTimeout = Number(args['ack-timeout'] || 10) * 1000;
const hardLimit = setTimeout(() => { console.error('soak: hard time limit'); process.exit(3); },
                             duration + warmup + 4 * ackTimeout + 120000);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const rssKb = () => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
};

const counts = { sent: 0, acked: 0, lost: 0, mismatched: 0, disconnects: 0, connect_errors: 0 };
let measuring = false;

function open() {
  return new Promise((resolve, reject) => {
    const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
    const timer = setTimeout(() => reject(new Error('connect timeout')), 30000);
    socket.on('connect', () => { clearTimeout(timer); resolve(socket); });
    socket.on('connect_error', (err) => { counts.connect_errors += 1; clearTimeout(timer); reject(err); });
    socket.on('disconnect', (reason) => {
      if (reason !== 'io client disconnect') counts.disconnects += 1;
    });
  });
}

async function loop(socket, index, until) {
  let n = 0;
  while (Date.now() < until) {
    const payload = { client: index, n: n++, text: 'x'.repeat(32) };
    const counted = measuring;
    if (counted) counts.sent += 1;
    try {
      const reply = await socket.timeout(ackTimeout).emitWithAck('ack', payload);
      if (counted) {
        if (reply && reply.client === index && reply.n === payload.n) counts.acked += 1;
        else { counts.mismatched += 1; counts.lost += 1; }
      }
    } catch (err) {
      if (counted) counts.lost += 1;
    }
    if (interval > 0) await sleep(interval);
  }
}

const sockets = [];
const started = Date.now();
for (let i = 0; i < clients; i += 100) {
  const batch = [];
  for (let j = i; j < Math.min(clients, i + 100); j++) batch.push(open());
  sockets.push(...await Promise.all(batch));
}
const connectSeconds = (Date.now() - started) / 1000;

const warmupUntil = Date.now() + warmup;
await Promise.all(sockets.map((s, i) => loop(s, i, warmupUntil)));
const rssStart = rssKb();
measuring = true;
const until = Date.now() + duration;
await Promise.all(sockets.map((s, i) => loop(s, i, until)));
measuring = false;
const rssEnd = rssKb();
for (const s of sockets) s.disconnect();
clearTimeout(hardLimit);
console.log(JSON.stringify({
  clients, duration_s: duration / 1000, connect_s: connectSeconds, ...counts,
  rss_start_kb: rssStart, rss_end_kb: rssEnd,
  rss_drift: (rssEnd - rssStart) / rssStart,
}));
process.exit(0);
