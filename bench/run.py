"""Run every network benchmark on every server in one run and write ``bench/RESULTS.md``.

    python bench/run.py                 # 3 repetitions, all servers (about 15 minutes)
    python bench/run.py --quick         # smoke run: 1 repetition, small counts (< 2 min)
    python bench/run.py --servers ours --quick --scale 0.05 --output /tmp/r.md

Each server (``bench/servers/``) is started pinned to CPU 0 (``taskset -c 0``), the
Node load generator (``bench/load/load.mjs``, socket.io-client v4) pinned to CPU 1.
Repetitions interleave the servers (rep 1: every server, rep 2: every server, ...),
so drift of the machine hits them alike. Connection-count scenarios get a fresh server
each, so the RSS they read is not inflated by earlier scenarios. Every load loop is
bounded in count and time, every process started is killed at the end, and traffic
goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LOAD = BENCH / "load" / "load.mjs"
SERVERS_DIR = BENCH / "servers"
PEER_PYTHON = BENCH / ".venv-peer" / "bin" / "python"
PORT_LINE = re.compile(r"http://127\.0\.0\.1:(\d+)")

#: name -> (label, command); the peer runs in its own virtualenv, isolated (-I).
SERVERS = {
    "ours": ("ours (native engine)", [sys.executable, str(SERVERS_DIR / "flask_app.py")]),
    "ours-engineio": ("ours, engine='engineio'",
                      [sys.executable, str(SERVERS_DIR / "flask_app.py"), "--engine",
                       "engineio"]),
    "bare": ("bare python-socketio", [sys.executable, str(SERVERS_DIR / "bare_socketio.py")]),
    "peer": ("Flask-SocketIO 5.x", [str(PEER_PYTHON), "-I", str(SERVERS_DIR / "flask_app.py"),
                                    "--peer"]),
    "raw": ("raw gevent-websocket echo", [sys.executable,
                                          str(SERVERS_DIR / "raw_websocket.py")]),
}

#: (key, load.mjs scenario, clients, what the number is, fresh server?)
SCENARIOS = [
    ("echo-1", "echo", 1, "round trips/s", False),
    ("echo-10", "echo", 10, "round trips/s", False),
    ("echo-100", "echo", 100, "round trips/s", False),
    ("ack-100", "ack", 100, "round trips/s", False),
    ("polling-10", "polling", 10, "round trips/s", False),
    ("broadcast-100", "broadcast", 100, "deliveries/s", False),
    ("broadcast-1000", "broadcast", 1000, "deliveries/s", False),
    ("conn-1000", "connections", 1000, "connections", True),
    ("conn-5000", "connections", 5000, "connections", True),
]
RAW_SCENARIOS = {"echo-1", "echo-10", "echo-100", "conn-1000", "conn-5000"}
#: The test client operations of bench/testclient_bench.py that issue 14 compares.
TESTCLIENT_OPERATIONS = ("echo", "ack", "new_client", "connect_disconnect")
#: Those issue 14 sets its 2x target for (connect+disconnect is measured beside them).
TESTCLIENT_TARGET_OPERATIONS = ("echo", "ack", "new_client")

_children: list[subprocess.Popen] = []


class Server:
    """One benchmarked server process, pinned to CPU 0."""

    def __init__(self, name: str, cpu: str | None) -> None:
        self.name = name
        command = list(SERVERS[name][1])
        if cpu is not None:
            command = ["taskset", "-c", cpu, *command]
        self.process = subprocess.Popen(command, cwd=str(ROOT), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True,
                                        start_new_session=True)
        _children.append(self.process)
        self.port = self._read_port(timeout=30)

    def _read_port(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        lines = []
        assert self.process.stderr is not None
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line:
                break
            lines.append(line)
            match = PORT_LINE.search(line)
            if match:
                return int(match.group(1))
        self.stop()
        raise RuntimeError(f"server {self.name} did not start: {''.join(lines)[-2000:]}")

    @property
    def pid(self) -> int:
        return self.process.pid  # taskset execs the server: same pid

    def stop(self) -> None:
        _stop(self.process)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    if process in _children:
        _children.remove(process)


def load(server: Server, scenario: str, clients: int, args: argparse.Namespace,
         raw: bool) -> dict:
    command = ["node", str(LOAD), "--url", f"http://127.0.0.1:{server.port}",
               "--scenario", scenario, "--clients", str(clients), "--pid", str(server.pid),
               "--duration", str(args.duration), "--warmup", str(args.warmup),
               "--limit", "150"]
    if raw:
        command.append("--raw")
    if args.load_cpu is not None:
        command = ["taskset", "-c", args.load_cpu, *command]
    done = subprocess.run(command, cwd=str(ROOT), capture_output=True, text=True, timeout=180)
    if done.returncode != 0:
        raise RuntimeError(f"load {scenario} x{clients} on {server.name} failed: "
                           f"{done.stderr.strip()[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_server(name: str, args: argparse.Namespace, results: dict) -> None:
    """Every scenario once on server ``name``, results appended to ``results``."""
    raw = name == "raw"
    scenarios = [s for s in SCENARIOS if (s[0] in RAW_SCENARIOS if raw else True)
                 and (not args.only or s[0] in args.only)]
    shared: Server | None = None
    try:
        for key, scenario, clients, _, fresh in scenarios:
            clients = max(1, int(round(clients * args.scale)))
            if fresh:
                server = Server(name, args.server_cpu)
            else:
                if shared is None:
                    shared = Server(name, args.server_cpu)
                server = shared
            try:
                result = load(server, scenario, clients, args, raw)
            except Exception as exc:  # one failure does not end the run: it is reported
                print(f"  {name} {key}: FAILED {exc}", file=sys.stderr, flush=True)
                results.setdefault(name, {}).setdefault(key, []).append({"error": str(exc)})
                continue
            finally:
                if fresh:
                    server.stop()
            results.setdefault(name, {}).setdefault(key, []).append(result)
            print(f"  {name:14} {key:15} {_headline(result)}", file=sys.stderr, flush=True)
    finally:
        if shared is not None:
            shared.stop()


def _headline(result: dict) -> str:
    if "rss_per_connection_kb" in result:
        return (f"{result['open_seconds']:.2f} s to open, "
                f"{result['rss_per_connection_kb']:.1f} KB/connection")
    text = f"{result['rate']:.0f}/s"
    if result.get("p50_ms") is not None:
        text += f" p50 {result['p50_ms']:.2f} ms p99 {result['p99_ms']:.2f} ms"
    if result.get("all_in_p50_ms") is not None:
        text += f" all-in p50 {result['all_in_p50_ms']:.2f} ms"
    return text


def run_testclient(args: argparse.Namespace) -> dict:
    """The test client micro-benchmarks (bench/testclient_bench.py), ours and the peer."""
    out = {}
    script = str(BENCH / "testclient_bench.py")
    extra = (["--iterations", "200", "--rounds", "3", "--warmup", "50"] if args.quick
             else ["--iterations", "2000", "--rounds", "7", "--warmup", "300"])
    pythons = {"ours": [sys.executable, script]}
    if PEER_PYTHON.exists():
        pythons["peer"] = [str(PEER_PYTHON), "-I", script]
    for name, command in pythons.items():
        if args.server_cpu is not None:
            command = ["taskset", "-c", args.server_cpu, *command]
        try:
            done = subprocess.run([*command, *extra], cwd=str(ROOT), capture_output=True,
                                  text=True, timeout=300)
            out[name] = json.loads(done.stdout)["results"] if done.returncode == 0 else {
                "error": done.stderr[-1500:]}
        except Exception as exc:
            out[name] = {"error": str(exc)}
    return out


# -- the report -------------------------------------------------------------------------

def _values(results: dict, server: str, key: str, field: str) -> list[float]:
    return [r[field] for r in results.get(server, {}).get(key, [])
            if "error" not in r and r.get(field) is not None]


def median(results: dict, server: str, key: str, field: str = "rate") -> float | None:
    values = _values(results, server, key, field)
    return statistics.median(values) if values else None


def cell(results: dict, server: str, key: str, field: str, digits: int = 0) -> str:
    values = _values(results, server, key, field)
    if not values:
        errors = [r for r in results.get(server, {}).get(key, []) if "error" in r]
        return "failed" if errors else "–"
    fmt = f"{{:,.{digits}f}}"
    text = fmt.format(statistics.median(values))
    if len(values) > 1:
        text += f" ({fmt.format(min(values))}–{fmt.format(max(values))})"
    return text


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def fmt_ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}x"


def targets(results: dict) -> list[tuple[str, str, str, str]]:
    """(issue, target, measured, met?) rows."""
    m = lambda s, k, f="rate": median(results, s, k, f)  # noqa: E731
    rows = []

    def add(issue: str, text: str, value: float | None, goal: float, unit: str = "x",
            at_most: bool = False) -> None:
        if value is None:
            rows.append((issue, text, "not measured", "–"))
            return
        met = value <= goal if at_most else value >= goal
        shown = f"{value:.2f}{unit}" if unit in ("x", "ms") else f"{value:.1f} {unit}"
        shown = shown.replace("ms", " ms") if unit == "ms" else shown
        rows.append((issue, text, shown, "met" if met else "not met"))

    add("6", "echo at 100: ours >= 0.85x bare", ratio(m("ours", "echo-100"),
                                                      m("bare", "echo-100")), 0.85)
    add("6", "ack at 100: ours >= 0.85x bare", ratio(m("ours", "ack-100"),
                                                     m("bare", "ack-100")), 0.85)
    add("6", "broadcast to 1,000: ours >= 0.95x bare",
        ratio(m("ours", "broadcast-1000"), m("bare", "broadcast-1000")), 0.95)
    ours_rss = m("ours", "conn-5000", "rss_per_connection_kb")
    bare_rss = m("bare", "conn-5000", "rss_per_connection_kb")
    add("6", "RSS/connection (5,000): ours <= bare + 5 KB",
        None if ours_rss is None or bare_rss is None else ours_rss - bare_rss, 5.0,
        unit="KB over bare", at_most=True)
    tc = results.get("_testclient", {})
    try:
        tc_ratios = [tc["peer"][op]["us_per_op"] / tc["ours"][op]["us_per_op"]
                     for op in ("echo", "ack")]
        tc_ratio: float | None = min(tc_ratios)
    except (KeyError, TypeError, ZeroDivisionError):
        tc_ratio = None
    add("6", "test client (echo, ack): >= 3x the peer's", tc_ratio, 3.0)
    add("8", "echo at 100: >= 3x Flask-SocketIO 5.x", ratio(m("ours", "echo-100"),
                                                            m("peer", "echo-100")), 3.0)
    add("8", "echo at 100: >= 0.6x raw gevent-websocket echo",
        ratio(m("ours", "echo-100"), m("raw", "echo-100")), 0.6)
    add("8", "ack at 100: >= 3x Flask-SocketIO 5.x", ratio(m("ours", "ack-100"),
                                                           m("peer", "ack-100")), 3.0)
    add("8", "broadcast to 1,000: >= 1.5x Flask-SocketIO 5.x",
        ratio(m("ours", "broadcast-1000"), m("peer", "broadcast-1000")), 1.5)
    add("8", "RSS per connection (5,000): <= 25 KB", ours_rss, 25.0, unit="KB",
        at_most=True)
    add("8", "polling echo at 10: >= 1.3x Flask-SocketIO 5.x",
        ratio(m("ours", "polling-10"), m("peer", "polling-10")), 1.3)
    cpu = lambda s, k: m(s, k, "server_cpu_us")  # noqa: E731
    add("11", "broadcast to 100 and 1,000: no slower than ours before (--ref)",
        min_ratio([ratio(m("ours", k), m("ours-ref", k))
                   for k in ("broadcast-100", "broadcast-1000")]), 1.0)
    add("11, 17", "every rate scenario: no slower than ours before (--ref)",
        min_ratio([ratio(m("ours", k), m("ours-ref", k)) for k, *_ in SCENARIOS
                   if not k.startswith("conn-")]), 1.0)
    add("14", "test client (echo, ack, new client): >= 2x the peer's",
        min_ratio([tc_op_ratio(tc, op) for op in TESTCLIENT_TARGET_OPERATIONS]), 2.0)
    add("17", "echo at 100: >= 3x Flask-SocketIO 5.x",
        ratio(m("ours", "echo-100"), m("peer", "echo-100")), 3.0)
    add("17", "echo at 100: >= 1.2x bare python-socketio",
        ratio(m("ours", "echo-100"), m("bare", "echo-100")), 1.2)
    add("17", "ack at 100: >= 3x Flask-SocketIO 5.x",
        ratio(m("ours", "ack-100"), m("peer", "ack-100")), 3.0)
    add("17", "broadcast to 1,000: >= 2x Flask-SocketIO 5.x",
        ratio(m("ours", "broadcast-1000"), m("peer", "broadcast-1000")), 2.0)
    add("17", "polling echo at 10: >= 1.5x Flask-SocketIO 5.x",
        ratio(m("ours", "polling-10"), m("peer", "polling-10")), 1.5)
    add("17", "polling echo at 10, server CPU per round trip: peer's >= 1.5x ours",
        ratio(cpu("peer", "polling-10"), cpu("ours", "polling-10")), 1.5)
    add("17", "RSS per connection (5,000): <= 20 KB", ours_rss, 20.0, unit="KB",
        at_most=True)
    add("17", "echo at 1 client, p50: <= 0.15 ms", m("ours", "echo-1", "p50_ms"), 0.15,
        unit="ms", at_most=True)
    return rows


def tc_op_ratio(tc: dict, op: str) -> float | None:
    """The peer's test client time over ours for ``op``, if both were measured."""
    try:
        return float(tc["peer"][op]["us_per_op"] / tc["ours"][op]["us_per_op"])
    except (KeyError, TypeError, ZeroDivisionError):
        return None


def min_ratio(values: list[float | None]) -> float | None:
    """The smallest of the ratios, or ``None`` if any is missing."""
    return None if not values or any(v is None for v in values) else min(
        v for v in values if v is not None)


def report(results: dict, servers: list[str], args: argparse.Namespace,
           started: float) -> str:
    lines = []
    add = lines.append
    versions = _versions()
    add("# Benchmark results")
    add("")
    add(f"Written by `python bench/run.py{' --quick' if args.quick else ''}` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}, one run of "
        f"{(time.time() - started) / 60:.1f} min: {args.reps} repetition(s), every number "
        f"the median with (min–max). Server on CPU {args.server_cpu}, socket.io-client "
        f"{versions.get('socket.io-client')} (Node {versions.get('node')}) on CPU "
        f"{args.load_cpu}; {os.cpu_count()} CPUs. Python {sys.version.split()[0]}, "
        f"python-socketio {versions.get('python-socketio')}, python-engineio "
        f"{versions.get('python-engineio')}, gevent {versions.get('gevent')}, "
        f"peer Flask-SocketIO {versions.get('peer')}. Closed-loop load of "
        f"{args.duration} s after {args.warmup} s warm-up per scenario; payload "
        f"`{{text, n, items[3]}}`. Load average (1, 5, 15 min) before the run: "
        f"{', '.join(f'{v:.2f}' for v in args.load_before)}; after: "
        f"{', '.join(f'{v:.2f}' for v in args.load_after)}.")
    if args.scale != 1:
        add("")
        add(f"**Client counts scaled by {args.scale}** (smoke run): not comparable.")
    add("")
    labels = [SERVERS[s][0] for s in servers]
    header = "| scenario | " + " | ".join(labels) + " |"
    rule = "|---|" + "---|" * len(servers)

    def table(title: str, rows: list[tuple[str, str, str, int]]) -> None:
        add(f"## {title}")
        add("")
        add(header)
        add(rule)
        for label, key, field, digits in rows:
            add(f"| {label} | " + " | ".join(cell(results, s, key, field, digits)
                                          for s in servers) + " |")
        add("")

    table("Round trips per second (higher is better)", [
        ("echo, 1 client", "echo-1", "rate", 0),
        ("echo, 10 clients", "echo-10", "rate", 0),
        ("echo, 100 clients", "echo-100", "rate", 0),
        ("ack, 100 clients", "ack-100", "rate", 0),
        ("echo over polling, 10 clients", "polling-10", "rate", 0),
    ])
    table("Latency, ms (lower is better)", [
        ("echo, 1 client, p50", "echo-1", "p50_ms", 2),
        ("echo, 1 client, p99", "echo-1", "p99_ms", 2),
        ("echo, 10 clients, p50", "echo-10", "p50_ms", 2),
        ("echo, 10 clients, p99", "echo-10", "p99_ms", 2),
        ("echo, 100 clients, p50", "echo-100", "p50_ms", 2),
        ("echo, 100 clients, p99", "echo-100", "p99_ms", 2),
        ("ack, 100 clients, p50", "ack-100", "p50_ms", 2),
        ("ack, 100 clients, p99", "ack-100", "p99_ms", 2),
        ("polling echo, 10 clients, p50", "polling-10", "p50_ms", 2),
        ("polling echo, 10 clients, p99", "polling-10", "p99_ms", 2),
    ])
    table("Broadcast to a room (one sender, wait until all members have it)", [
        ("100 members: deliveries/s", "broadcast-100", "rate", 0),
        ("100 members: ms until all have it (p50)", "broadcast-100", "all_in_p50_ms", 2),
        ("1,000 members: deliveries/s", "broadcast-1000", "rate", 0),
        ("1,000 members: ms until all have it (p50)", "broadcast-1000", "all_in_p50_ms", 2),
    ])
    table("Server CPU time per round trip or delivery, µs (lower is better; from "
          "/proc/PID/stat over the measured window, less disturbed by other load than "
          "the rates)", [
        ("echo, 1 client", "echo-1", "server_cpu_us", 1),
        ("echo, 10 clients", "echo-10", "server_cpu_us", 1),
        ("echo, 100 clients", "echo-100", "server_cpu_us", 1),
        ("ack, 100 clients", "ack-100", "server_cpu_us", 1),
        ("echo over polling, 10 clients", "polling-10", "server_cpu_us", 1),
        ("broadcast, 100 members (per delivery)", "broadcast-100", "server_cpu_us", 2),
        ("broadcast, 1,000 members (per delivery)", "broadcast-1000", "server_cpu_us", 2),
    ])
    table("Open WebSocket connections (fresh server each)", [
        ("1,000: seconds to open", "conn-1000", "open_seconds", 2),
        ("1,000: server RSS KB per connection", "conn-1000", "rss_per_connection_kb", 1),
        ("5,000: seconds to open", "conn-5000", "open_seconds", 2),
        ("5,000: server RSS KB per connection", "conn-5000", "rss_per_connection_kb", 1),
    ])
    add("## Ratios (medians of this run)")
    add("")
    others = ["bare", "peer", "ours-engineio", "raw"] + (["ours-ref"] if "ours-ref" in servers
                                                        else [])
    add("| scenario | ours / bare | ours / peer | ours / ours-engineio | ours / raw echo |"
        + (" ours / ours before |" if "ours-ref" in servers else ""))
    add("|---|---|---|---|---|" + ("---|" if "ours-ref" in servers else ""))
    for label, key, field in [("echo, 1", "echo-1", "rate"), ("echo, 10", "echo-10", "rate"),
                              ("echo, 100", "echo-100", "rate"),
                              ("ack, 100", "ack-100", "rate"),
                              ("polling echo, 10", "polling-10", "rate"),
                              ("broadcast 100, deliveries/s", "broadcast-100", "rate"),
                              ("broadcast 1,000, deliveries/s", "broadcast-1000", "rate"),
                              ("RSS/connection at 5,000 (lower is better)", "conn-5000",
                               "rss_per_connection_kb")]:
        ours = median(results, "ours", key, field)
        row = [fmt_ratio(ratio(ours, median(results, other, key, field)))
               for other in others]
        add(f"| {label} | " + " | ".join(row) + " |")
    add("")
    add("Server CPU per round trip or delivery, as the others' over ours (higher is "
        "better for us):")
    add("")
    add("| scenario | bare / ours | peer / ours | ours-engineio / ours | raw echo / ours |"
        + (" ours before / ours |" if "ours-ref" in servers else ""))
    add("|---|---|---|---|---|" + ("---|" if "ours-ref" in servers else ""))
    for label, key in [("echo, 1", "echo-1"), ("echo, 10", "echo-10"),
                       ("echo, 100", "echo-100"), ("ack, 100", "ack-100"),
                       ("polling echo, 10", "polling-10"),
                       ("broadcast 100", "broadcast-100"),
                       ("broadcast 1,000", "broadcast-1000")]:
        ours = median(results, "ours", key, "server_cpu_us")
        row = [fmt_ratio(ratio(median(results, other, key, "server_cpu_us"), ours))
               for other in others]
        add(f"| {label} | " + " | ".join(row) + " |")
    add("")
    tc = results.get("_testclient")
    if tc:
        add("## Test client micro-benchmarks (`bench/testclient_bench.py`, µs per call)")
        add("")
        add("| operation | ours | Flask-SocketIO 5.x | peer / ours |")
        add("|---|---|---|---|")
        for op in TESTCLIENT_OPERATIONS:
            try:
                o, p = tc["ours"][op], tc.get("peer", {}).get(op)
                peer_text = f"{p['us_per_op']:.1f} ({p['us_min']:.1f}–{p['us_max']:.1f})" \
                    if p else "–"
                add(f"| {op} | {o['us_per_op']:.1f} ({o['us_min']:.1f}–{o['us_max']:.1f}) | "
                    f"{peer_text} | "
                    f"{fmt_ratio(p['us_per_op'] / o['us_per_op']) if p else '–'} |")
            except (KeyError, TypeError):
                add(f"| {op} | failed | failed | – |")
        add("")
    add("## Targets")
    add("")
    add("| issue | target | measured | |")
    add("|---|---|---|---|")
    for row in targets(results):
        add("| " + " | ".join(row) + " |")
    add("")
    failures = [(s, k) for s in servers for k, rs in results.get(s, {}).items()
                for r in rs if "error" in r]
    if failures:
        add("## Failures")
        add("")
        for s, k in failures:
            add(f"- {s} {k}")
        add("")
    return "\n".join(lines)


def _versions() -> dict:
    out = {}
    try:
        from importlib import metadata

        for name in ("python-socketio", "python-engineio", "gevent"):
            out[name] = metadata.version(name)
    except Exception:
        pass
    try:
        out["node"] = subprocess.run(["node", "--version"], capture_output=True,
                                     text=True, timeout=10).stdout.strip()
        pkg = ROOT / "node_modules" / "socket.io-client" / "package.json"
        out["socket.io-client"] = json.loads(pkg.read_text())["version"]
    except Exception:
        pass
    if PEER_PYTHON.exists():
        done = subprocess.run([str(PEER_PYTHON), "-I", "-c", "from importlib import metadata;"
                               "print(metadata.version('flask-socketio'))"],
                              capture_output=True, text=True, timeout=30)
        out["peer"] = done.stdout.strip() or None
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 1 repetition, 0.5 s per scenario, 1/5 the clients")
    parser.add_argument("--reps", type=int, default=None, help="repetitions (default 3)")
    parser.add_argument("--servers", default="ours,ours-engineio,bare,peer,raw",
                        help=f"comma-separated, of {', '.join(SERVERS)}")
    parser.add_argument("--only", action="append", help="only this scenario key (repeatable)")
    parser.add_argument("--scale", type=float, default=None,
                        help="multiply every client count by this (default 1, quick 0.2)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per scenario")
    parser.add_argument("--warmup", type=float, default=None, help="warm-up seconds")
    parser.add_argument("--no-testclient", action="store_true",
                        help="skip the test client micro-benchmarks")
    parser.add_argument("--ref", default=None, metavar="DIR",
                        help="also run ours from a copy of the package in DIR (a folder "
                             "holding flask_socketio/), as the server 'ours-ref'")
    parser.add_argument("--output", default=str(BENCH / "RESULTS.md"))
    parser.add_argument("--json", default=None, help="also write the raw results here")
    args = parser.parse_args(argv)
    args.reps = args.reps or (1 if args.quick else 3)
    args.scale = args.scale if args.scale is not None else (0.2 if args.quick else 1.0)
    args.duration = args.duration or (0.5 if args.quick else 3.0)
    args.warmup = args.warmup if args.warmup is not None else (0.2 if args.quick else 0.5)
    if not 1 <= args.reps <= 10 or not 0 < args.scale <= 1 or not 0 < args.duration <= 30:
        parser.error("--reps 1..10, --scale in (0, 1], --duration in (0, 30]")
    if args.ref:
        SERVERS["ours-ref"] = ("ours before (--ref)", [
            sys.executable, str(SERVERS_DIR / "flask_app.py"), "--pythonpath",
            str(Path(args.ref).resolve())])
        if "ours-ref" not in args.servers:
            args.servers = args.servers.replace("ours,", "ours,ours-ref,", 1)
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = set(servers) - set(SERVERS)
    if unknown:
        parser.error(f"unknown servers: {', '.join(sorted(unknown))}")
    if "peer" in servers and not PEER_PYTHON.exists():
        print("bench/.venv-peer is missing (see bench/README.md): the peer is skipped",
              file=sys.stderr)
        servers.remove("peer")
    if not (ROOT / "node_modules" / "socket.io-client").exists() or not shutil.which("node"):
        print("node and node_modules/socket.io-client are needed (npm ci)", file=sys.stderr)
        return 2
    cpus = os.sched_getaffinity(0)
    args.server_cpu, args.load_cpu = ("0", "1") if {0, 1} <= cpus and shutil.which(
        "taskset") else (None, None)
    # 5,000 connections need file descriptors on both sides: raise the soft limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY
                                                    else 65536, hard))
    started = time.time()
    args.load_before = os.getloadavg()
    results: dict = {}
    try:
        for rep in range(args.reps):
            for name in servers:
                print(f"rep {rep + 1}/{args.reps}: {name}", file=sys.stderr, flush=True)
                run_server(name, args, results)
        if not args.no_testclient:
            print("test client micro-benchmarks", file=sys.stderr, flush=True)
            results["_testclient"] = run_testclient(args)
    finally:
        for process in list(_children):
            _stop(process)
    args.load_after = os.getloadavg()
    text = report(results, servers, args, started)
    Path(args.output).write_text(text + "\n", encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sys.exit(main())
