// Load generator for the Socket.IO benchmarks: the real socket.io-client v4 (and, for
// the raw gevent-websocket echo, the `ws` client it is built on).
//
//   node bench/load/load.mjs --url http://127.0.0.1:PORT --scenario echo --clients 100 \
//        [--duration 3] [--warmup 0.5] [--count N] [--pid SERVER_PID] [--raw]
//
// Scenarios (one JSON object on stdout):
//   echo       each client emits 'echo' and waits for the 'echo' event back, in a loop
//   ack        each client emits 'ack' with a callback and waits for the ack, in a loop
//   polling    as echo, transports: ['polling'] only
//   broadcast  --clients join room 'bench'; a separate sender emits 'broadcast' and
//              waits until every member has the message, --count times at most
//   connections  open --clients WebSocket connections, --batch at a time; report the
//              time to open and the server's RSS (from /proc/PID/status) per connection
//   rawecho    (--raw) echo of Socket.IO-shaped text frames over a bare WebSocket
//
// Every loop is bounded by --duration (seconds) and by --count; every connection
// goes to 127.0.0.1 only.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { io } = require('socket.io-client');
const WebSocket = require('ws');

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) {
    const next = all[i + 1];
    acc.push([a.slice(2), next === undefined || next.startsWith('--') ? true : next]);
  }
  return acc;
}, []));

const url = String(args.url || '');
const parsed = new URL(url);
if (parsed.hostname !== '127.0.0.1') {
  console.error('load.mjs only sends traffic to 127.0.0.1');
  process.exit(2);
}
const scenario = String(args.scenario || 'echo');
const clients = Number(args.clients || 10);
const duration = Number(args.duration || 3) * 1000;
const warmup = Number(args.warmup ?? 0.5) * 1000;
const maxCount = Number(args.count || 1e9);
const batch = Number(args.batch || 100);
const pid = args.pid ? Number(args.pid) : null;
const hardLimitMs = Number(args.limit || 120) * 1000; // whole-run safety bound
const PAYLOAD = { text: 'hello', n: 42, items: [1, 2, 3] };

const hardTimer = setTimeout(() => {
  console.error(`load.mjs: hard time limit reached (${hardLimitMs} ms)`);
  process.exit(3);
}, hardLimitMs);
hardTimer.unref();

const now = () => Number(process.hrtime.bigint()) / 1e6; // ms
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function rssKb(p) {
  if (!p) return null;
  const text = readFileSync(`/proc/${p}/status`, 'utf8');
  const m = text.match(/^VmRSS:\s+(\d+)\s+kB/m);
  return m ? Number(m[1]) : null;
}

// The server's CPU time so far, ms (user + system, /proc/PID/stat; Linux's clock tick
// is 10 ms): the scenarios report it per round trip or delivery, a figure that other
// load on the machine disturbs far less than rates do.
function serverCpuMs(p) {
  if (!p) return null;
  const text = readFileSync(`/proc/${p}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function cpuPer(cpuStart, cpuEnd, count) {
  return cpuStart === null || cpuEnd === null || !count ? null : (cpuEnd - cpuStart) * 1000 / count;
}

function percentile(sorted, q) {
  if (!sorted.length) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

function connect(transports = ['websocket'], timeoutMs = 20000) {
  return new Promise((resolve, reject) => {
    const socket = io(url, { forceNew: true, transports, reconnection: false, timeout: timeoutMs });
    const t = setTimeout(() => { socket.close(); reject(new Error('connect timeout')); }, timeoutMs);
    socket.once('connect', () => { clearTimeout(t); resolve(socket); });
    socket.once('connect_error', (err) => { clearTimeout(t); socket.close(); reject(err); });
  });
}

async function connectMany(n, transports, batchSize = batch) {
  const sockets = [];
  for (let i = 0; i < n; i += batchSize) {
    const k = Math.min(batchSize, n - i);
    const got = await Promise.all(Array.from({ length: k }, () => connect(transports)));
    sockets.push(...got);
  }
  return sockets;
}

function closeAll(sockets) {
  for (const s of sockets) s.close();
}

// The closed loop of one client: `once(socket)` resolves when one round trip is done.
async function closedLoop(sockets, roundTrip) {
  const latencies = [];
  let done = 0;
  let counting = false;
  let stop = false;
  const start = now();
  let measureStart = start;
  const loops = sockets.map(async (socket) => {
    while (!stop) {
      const t0 = now();
      await roundTrip(socket);
      if (counting) {
        latencies.push(now() - t0);
        done += 1;
        if (done >= maxCount) stop = true;
      }
    }
  });
  await sleep(warmup);
  counting = true;
  measureStart = now();
  const cpuStart = serverCpuMs(pid);
  await Promise.race([sleep(duration), Promise.all(loops)]);
  stop = true;
  const elapsed = now() - measureStart;
  const cpuEnd = serverCpuMs(pid);
  await Promise.race([Promise.all(loops), sleep(5000)]);
  latencies.sort((a, b) => a - b);
  return {
    round_trips: done,
    seconds: elapsed / 1000,
    rate: done / (elapsed / 1000),
    p50_ms: percentile(latencies, 0.5),
    p99_ms: percentile(latencies, 0.99),
    server_cpu_us: cpuPer(cpuStart, cpuEnd, done),
  };
}

function echoTrip(socket) {
  return new Promise((resolve) => {
    socket.once('echo', resolve);
    socket.emit('echo', PAYLOAD);
  });
}

function ackTrip(socket) {
  return new Promise((resolve) => socket.emit('ack', PAYLOAD, resolve));
}

async function runEcho(transports) {
  const sockets = await connectMany(clients, transports);
  try {
    return await closedLoop(sockets, echoTrip);
  } finally {
    closeAll(sockets);
  }
}

async function runAck() {
  const sockets = await connectMany(clients, ['websocket']);
  try {
    return await closedLoop(sockets, ackTrip);
  } finally {
    closeAll(sockets);
  }
}

async function runBroadcast() {
  const members = await connectMany(clients, ['websocket']);
  const sender = await connect(['websocket']);
  try {
    await Promise.all(members.map((s) => new Promise((r) => s.emit('join', 'bench', r))));
    let expected = 0;
    let received = 0;
    let allIn = null;
    for (const s of members) {
      s.on('bcast', () => {
        received += 1;
        if (received === expected && allIn) allIn();
      });
    }
    const times = [];
    let deliveries = 0;
    let rounds = 0;
    const roundLimit = Math.min(maxCount, 100000);
    const t0 = now();
    let measureStart = null;
    let cpuStart = null;
    while (rounds < roundLimit) {
      const elapsed = now() - (measureStart ?? t0);
      if (measureStart === null && now() - t0 >= warmup) {
        measureStart = now();
        cpuStart = serverCpuMs(pid);
      } else if (measureStart !== null && elapsed >= duration) break;
      received = 0;
      expected = members.length;
      const start = now();
      const arrived = new Promise((r) => { allIn = r; });
      sender.emit('broadcast', PAYLOAD);
      const ok = await Promise.race([arrived.then(() => true), sleep(10000).then(() => false)]);
      allIn = null;
      if (!ok) throw new Error(`broadcast: only ${received}/${expected} delivered in 10 s`);
      if (measureStart !== null) {
        times.push(now() - start);
        deliveries += expected;
        rounds += 1;
      }
    }
    const seconds = (now() - (measureStart ?? t0)) / 1000;
    const cpuEnd = serverCpuMs(pid);
    times.sort((a, b) => a - b);
    return {
      broadcasts: rounds,
      deliveries,
      seconds,
      rate: deliveries / seconds,
      all_in_p50_ms: percentile(times, 0.5),
      all_in_p99_ms: percentile(times, 0.99),
      server_cpu_us: cpuPer(cpuStart, cpuEnd, deliveries),
    };
  } finally {
    closeAll(members);
    sender.close();
  }
}

async function runConnections() {
  // A few connections first, so lazily built server structures are not counted.
  const warm = await connectMany(Math.min(20, clients), ['websocket']);
  await sleep(300);
  const before = rssKb(pid);
  const t0 = now();
  const sockets = await connectMany(clients, ['websocket']);
  const openSeconds = (now() - t0) / 1000;
  await sleep(1000); // let the server settle (pending greenlets, buffers)
  const after = rssKb(pid);
  closeAll(sockets);
  closeAll(warm);
  return {
    connections: sockets.length,
    open_seconds: openSeconds,
    rate: sockets.length / openSeconds,
    rss_before_kb: before,
    rss_after_kb: after,
    rss_per_connection_kb: before !== null && after !== null ? (after - before) / sockets.length : null,
  };
}

// ---- raw WebSocket (the gevent-websocket echo server) --------------------------------

const RAW_FRAME = '42' + JSON.stringify(['echo', PAYLOAD]);

function rawConnect() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + '/echo');
    const t = setTimeout(() => { ws.terminate(); reject(new Error('connect timeout')); }, 20000);
    ws.once('open', () => { clearTimeout(t); resolve(ws); });
    ws.once('error', (e) => { clearTimeout(t); reject(e); });
  });
}

async function rawConnectMany(n) {
  const out = [];
  for (let i = 0; i < n; i += batch) {
    const k = Math.min(batch, n - i);
    out.push(...await Promise.all(Array.from({ length: k }, rawConnect)));
  }
  return out;
}

function rawTrip(ws) {
  return new Promise((resolve) => {
    ws.once('message', resolve);
    ws.send(RAW_FRAME);
  });
}

async function runRawEcho() {
  const sockets = await rawConnectMany(clients);
  try {
    return await closedLoop(sockets, rawTrip);
  } finally {
    for (const ws of sockets) ws.terminate();
  }
}

async function runRawConnections() {
  const warm = await rawConnectMany(Math.min(20, clients));
  await sleep(300);
  const before = rssKb(pid);
  const t0 = now();
  const sockets = await rawConnectMany(clients);
  const openSeconds = (now() - t0) / 1000;
  await sleep(1000);
  const after = rssKb(pid);
  for (const ws of [...sockets, ...warm]) ws.terminate();
  return {
    connections: sockets.length,
    open_seconds: openSeconds,
    rate: sockets.length / openSeconds,
    rss_before_kb: before,
    rss_after_kb: after,
    rss_per_connection_kb: before !== null && after !== null ? (after - before) / sockets.length : null,
  };
}

const scenarios = args.raw
  ? { echo: runRawEcho, rawecho: runRawEcho, connections: runRawConnections }
  : {
    echo: () => runEcho(['websocket']),
    ack: runAck,
    polling: () => runEcho(['polling']),
    broadcast: runBroadcast,
    connections: runConnections,
  };

const run = scenarios[scenario];
if (!run) {
  console.error(`unknown scenario ${scenario}`);
  process.exit(2);
}
try {
  const result = await run();
  console.log(JSON.stringify({ scenario, clients, raw: Boolean(args.raw), ...result }));
  process.exit(0);
} catch (err) {
  console.error(`load.mjs ${scenario}: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
}
