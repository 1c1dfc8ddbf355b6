"""The long fuzz run: the regular suite's fuzz tests with every example count scaled.

    python bench/fuzz_long.py                # scale 20: about 270,000 inputs, ~2.5 min
    python bench/fuzz_long.py --scale 100    # about 1.3 million inputs, ~12 min

Runs ``tests/robustness/test_fuzz.py`` under pytest with ``FUZZ_SCALE`` set, so the
inputs are those of the regular suite (hypothesis templates and seeds expanded by
the mutator of ``tests/robustness/strategies.py``), in-process (JSON and msgpack)
and live over WebSocket and long-polling on both network engines, with the same
oracle: after every batch a well-behaved client still gets its echo, no server code
raised, nothing of the hostile clients is left on the server. Prints pytest's
output, whose last lines give the inputs fuzzed and the connections closed for
protocol violations, per path. Exit status: pytest's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=20,
                        help="multiplier of every example count (regular suite: 1)")
    parser.add_argument("-k", default=None, help="pytest -k expression, to run a part")
    options = parser.parse_args()
    command = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:randomly",
               "tests/robustness/test_fuzz.py"]
    if options.k:
        command += ["-k", options.k]
    env = dict(os.environ, FUZZ_SCALE=str(options.scale))
    return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())
