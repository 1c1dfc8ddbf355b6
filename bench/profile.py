"""Profile our server under echo load with py-spy and print where the time goes by layer.

    python -m venv bench/.venv-prof && bench/.venv-prof/bin/pip install py-spy
    python bench/profile.py [--server ours|ours-engineio|bare] [--clients 100] [--seconds 8]

The server runs pinned to CPU 0, the Node load generator on CPU 1 (echo scenario);
py-spy samples the server (500 Hz) for the middle of the load and writes collapsed
stacks, which :mod:`profile_layers` summarizes by layer. Bounded in time; every
process started is stopped.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import profile_layers  # noqa: E402
import run as bench_run  # noqa: E402

BENCH = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="ours", choices=sorted(bench_run.SERVERS))
    parser.add_argument("--scenario", default="echo")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--stacks", default="/tmp/bench-profile-stacks.txt")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    spy = BENCH / ".venv-prof" / "bin" / "py-spy"
    spy_cmd = str(spy) if spy.exists() else shutil.which("py-spy")
    if spy_cmd is None:
        print("py-spy is needed (see the docstring)", file=sys.stderr)
        return 2
    if not 1 <= args.seconds <= 60:
        parser.error("--seconds must be within 1..60")
    options = argparse.Namespace(duration=args.seconds, warmup=0.5, load_cpu="1")
    server = bench_run.Server(args.server, "0")
    try:
        spy_seconds = max(1, int(args.seconds - 2))
        sampler = subprocess.Popen([spy_cmd, "record", "-p", str(server.pid), "-d",
                                    str(spy_seconds), "-r", "500", "-f", "raw", "-o",
                                    args.stacks], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
        try:
            result = bench_run.load(server, args.scenario, args.clients, options, raw=False)
        finally:
            try:
                sampler.wait(timeout=spy_seconds + 30)
            except subprocess.TimeoutExpired:
                sampler.kill()
                sampler.wait()
    finally:
        server.stop()
    print(f"load: {bench_run._headline(result)} (slowed by the sampler)")
    print(profile_layers.summarize(profile_layers.parse(args.stacks), args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
