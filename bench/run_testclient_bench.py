"""Run bench/testclient_bench.py against this project and against Flask-SocketIO 5.x.

    python bench/run_testclient_bench.py [--runs 3] [--iterations 2000] [--rounds 7]

1. Makes the peer's virtualenv, ``bench/.venv-peer`` (git-ignored), if it is missing:
   ``flask-socketio==5.*`` (the latest 5.x: 5.7) with the Flask, Werkzeug,
   python-socketio and python-engineio versions of the running environment, so only
   the test clients differ. The peer is never installed in the main environment.
2. Runs the benchmark script, unchanged, with this interpreter (ours: the package
   installed from this repository) and with the peer's, alternately ``--runs``
   times, so that load from other work on the machine falls on both alike. The peer
   runs isolated (``python -I``, from a directory outside the repository), so it
   cannot import this repository's ``flask_socketio``; each run's
   ``flask_socketio.__file__`` is checked.
3. Writes ``bench/RESULTS-testclient.md`` (the table: per operation the median over
   runs of each run's median, ours and the peer's, and the ratio peer/ours) and
   ``bench/RESULTS-testclient.json`` (every run).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SCRIPT = BENCH / "testclient_bench.py"
PEER_VENV = BENCH / ".venv-peer"
PEER_PYTHON = PEER_VENV / "bin" / "python"
PEER_REQUIREMENT = "flask-socketio==5.*"
SHARED = ("flask", "werkzeug", "python-socketio", "python-engineio")
TARGET = 2.0  # issue 14: the peer takes at least 2x our time
#: The operations issue 14 sets the target for ("echo, ack and new-client");
#: connect+disconnect is measured beside them.
TARGET_OPERATIONS = ("echo", "ack", "new_client")
#: RESULTS-testclient.md keeps what follows this line when it is written again.
KEPT = "<!-- kept when regenerated: where the time goes -->"


def log(message: str) -> None:
    print(f"[testclient-bench] {message}", file=sys.stderr, flush=True)


def pins() -> list[str]:
    return [f"{name}=={metadata.version(name)}" for name in SHARED]


def ensure_peer_venv() -> None:
    """Make the peer's virtualenv if missing; install the peer and our pins if it lacks them.

    The virtualenv is shared with bench/run.py (which adds gevent to it): it is never
    cleared, only installed into.
    """
    if PEER_PYTHON.exists():
        check = subprocess.run(
            [str(PEER_PYTHON), "-I", "-c",
             "from importlib import metadata as m; import sys; "
             "print(' '.join(f'{n}=={m.version(n)}' for n in sys.argv[1:]))",
             "flask-socketio", *SHARED],
            capture_output=True, text=True, cwd=tempfile.gettempdir())
        installed = check.stdout.split()
        if check.returncode == 0 and installed and installed[0].startswith(
                "flask-socketio==5.") and installed[1:] == pins():
            return
        log(f"peer virtualenv incomplete ({check.stdout.strip() or 'peer missing'})")
    else:
        log(f"creating {PEER_VENV.relative_to(REPO)}")
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    log(f"installing {PEER_REQUIREMENT} {' '.join(pins())} into {PEER_VENV.relative_to(REPO)}")
    subprocess.run([str(PEER_PYTHON), "-m", "pip", "install", "--quiet",
                    PEER_REQUIREMENT, *pins()], check=True, cwd=tempfile.gettempdir())


def run_once(python: str, isolated: bool, args: argparse.Namespace, expect_in: Path) -> dict:
    command = [python, *(["-I"] if isolated else []), str(SCRIPT),
               "--iterations", str(args.iterations), "--rounds", str(args.rounds),
               "--warmup", str(args.warmup)]
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if not isolated:  # ours: this checkout, whichever one the environment has installed
        env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env,
                          cwd=tempfile.gettempdir(), timeout=600)
    report = json.loads(done.stdout)
    where = Path(report["flask_socketio_file"]).resolve()
    if expect_in.resolve() not in where.parents:  # the venv may be a symlink
        raise SystemExit(f"{python} imported flask_socketio from {where}, not from {expect_in}")
    report["command"] = " ".join(command)
    return report


def summarize(runs: list[dict]) -> dict:
    table = {}
    for operation in runs[0]["results"]:
        per_run = [run["results"][operation]["us_per_op"] for run in runs]
        cpu = [run["results"][operation].get("cpu_us_per_op") for run in runs]
        table[operation] = {
            "label": runs[0]["results"][operation]["operation"],
            "median": round(statistics.median(per_run), 1),
            "min": round(min(run["results"][operation]["us_min"] for run in runs), 1),
            "per_run": per_run,
            "cpu": round(statistics.median(cpu), 1) if None not in cpu else None,
        }
    return table


def _target_mark(operation: str, ratio: float) -> str:
    if operation not in TARGET_OPERATIONS:
        return "(not a target)"
    return "yes" if ratio >= TARGET else "no"


def markdown(ours: dict, peer: dict, ours_runs: list[dict], peer_runs: list[dict],
             args: argparse.Namespace, load: tuple[tuple[float, ...], tuple[float, ...]]) -> str:
    lines = [
        "# Test client benchmark: ours against Flask-SocketIO 5.x",
        "",
        f"Made by `python bench/run_testclient_bench.py --runs {args.runs} --iterations "
        f"{args.iterations} --rounds {args.rounds} --warmup {args.warmup}` on "
        f"{datetime.date.today().isoformat()} (see bench/README.md). Target (issue 14): the "
        f"peer takes at least {TARGET:g}x our time for echo, ack and a new client; "
        "connect+disconnect is measured beside them. What bounds the ratio: "
        "`python bench/testclient_floor.py`, explained in bench/README.md.",
        "",
        "µs per operation: each run times `--rounds` rounds of `--iterations` calls after "
        "`--warmup` calls and keeps the median round; the table gives the median over "
        f"{args.runs} alternating runs of each implementation (fastest round in brackets).",
        "",
        "| operation | ours µs | peer µs | ratio peer/ours | target met |",
        "| --- | ---: | ---: | ---: | :---: |",
    ]
    for operation, mine in ours.items():
        theirs = peer[operation]
        ratio = theirs["median"] / mine["median"]
        lines.append(
            f"| `{mine['label']}` | {mine['median']:.1f} ({mine['min']:.1f}) | "
            f"{theirs['median']:.1f} ({theirs['min']:.1f}) | {ratio:.2f}x | "
            f"{_target_mark(operation, ratio)} |")
    first_ours, first_peer = ours_runs[0], peer_runs[0]
    if all(row["cpu"] is not None for table in (ours, peer) for row in table.values()):
        lines += [
            "",
            "The same runs in CPU time of the benchmark process (`time.process_time`, "
            "median round, median over runs): what the wall times above tend to on an idle "
            "machine, and less disturbed by other processes sharing the cores.",
            "",
            "| operation | ours CPU µs | peer CPU µs | ratio peer/ours |",
            "| --- | ---: | ---: | ---: |",
        ]
        for operation, mine in ours.items():
            theirs = peer[operation]
            lines.append(f"| `{mine['label']}` | {mine['cpu']:.1f} | {theirs['cpu']:.1f} | "
                         f"{theirs['cpu'] / mine['cpu']:.2f}x |")
    lines += [
        "",
        "Per-run medians (µs), in run order:",
        "",
        "| operation | ours | peer |",
        "| --- | --- | --- |",
    ]
    for operation, mine in ours.items():
        lines.append(f"| `{operation}` | {', '.join(f'{v:.1f}' for v in mine['per_run'])} | "
                     f"{', '.join(f'{v:.1f}' for v in peer[operation]['per_run'])} |")
    lines += [
        "",
        "Environment:",
        "",
        f"- ours: `{first_ours['flask_socketio_file']}` "
        f"({', '.join(first_ours['distribution'])} {first_ours['flask_socketio_version']})",
        f"- peer: `{first_peer['flask_socketio_file']}` "
        f"(Flask-SocketIO {first_peer['versions']['flask-socketio']})",
        "- shared: " + ", ".join(f"{name} {first_ours['versions'][name]}" for name in SHARED),
        f"- Python {first_ours['python']} on {platform.machine()}, {os.cpu_count()} CPUs; "
        f"load average {load[0][0]:.2f} before, {load[1][0]:.2f} after",
        f"- commands: `{first_ours['command']}` and `{first_peer['command']}` "
        "(run from a temporary directory)",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="alternating runs of each (1-20)")
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--no-write", action="store_true", help="print, do not write results")
    args = parser.parse_args()
    if not 1 <= args.runs <= 20:
        parser.error("--runs must be between 1 and 20")
    ensure_peer_venv()
    load_before = os.getloadavg()
    ours_runs, peer_runs = [], []
    for number in range(1, args.runs + 1):
        log(f"run {number}/{args.runs}: ours")
        ours_runs.append(run_once(sys.executable, False, args, REPO))
        log(f"run {number}/{args.runs}: peer")
        peer_runs.append(run_once(str(PEER_PYTHON), True, args, PEER_VENV))
    load_after = os.getloadavg()
    ours, peer = summarize(ours_runs), summarize(peer_runs)
    text = markdown(ours, peer, ours_runs, peer_runs, args, (load_before, load_after))
    print(text)
    if not args.no_write:
        results = BENCH / "RESULTS-testclient.md"
        if results.exists():  # the hand-written analysis after KEPT stays
            previous = results.read_text(encoding="utf-8")
            if KEPT in previous:
                text += "\n" + previous[previous.index(KEPT):]
        results.write_text(text, encoding="utf-8")
        (BENCH / "RESULTS-testclient.json").write_text(json.dumps(
            {"ours": ours_runs, "peer": peer_runs, "summary": {"ours": ours, "peer": peer}},
            indent=2) + "\n", encoding="utf-8")
        log("wrote bench/RESULTS-testclient.md and bench/RESULTS-testclient.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
