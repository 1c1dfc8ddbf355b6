"""Run the whole differential corpus with whichever ``flask_socketio`` this Python imports.

    python corpus_runner.py OUT.json [NAME ...]

Run by ``test_differential.py`` twice: with the peer's venv Python in isolated mode
(``-I``, so only the peer's ``flask_socketio`` can be found) and with ours.  Writes
``{"implementation": {...}, "results": {name: {"result": ..., "detail": ...}}}``:
``result`` is the scenario's JSON-normalised return value (or the type of the
exception it raised), compared between the two; ``detail`` only helps a reader.
"""

from __future__ import annotations

import faulthandler
import json
import re
import sys
import traceback
from pathlib import Path
from typing import Any

# Only this directory joins the path: the repository root must not (it holds our package).
sys.path.insert(0, str(Path(__file__).resolve().parent))

import scenarios  # noqa: E402

#: What random ids look like: python-socketio/Engine.IO sids (20 url-safe base64
#: characters) and uuid4 hex strings (the peer test client's eio_sid).
ID_PATTERN = re.compile(r"^(?:[A-Za-z0-9_-]{20}|[0-9a-f]{32})$")
SCENARIO_TIMEOUT = 20


class Normaliser:
    """JSON-ready values: tuples, bytes and sets marked; random ids numbered by first use."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            if ID_PATTERN.match(value) and not value.isalpha():
                return self.ids.setdefault(value, f"<id{len(self.ids) + 1}>")
            return value
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, bytes | bytearray):
            return {"bytes": bytes(value).hex()}
        if isinstance(value, tuple):
            return {"tuple": [self(item) for item in value]}
        if isinstance(value, list):
            return [self(item) for item in value]
        if isinstance(value, set | frozenset):
            return {"set": sorted((self(item) for item in value), key=repr)}
        if isinstance(value, dict):
            return {str(self(key)): self(item) for key, item in value.items()}
        return {"object": type(value).__name__}


def run(name: str) -> dict[str, Any]:
    function = scenarios.SCENARIOS[name].function
    try:
        value, detail = function(), ""
    except Exception as exc:  # the exception's type is the result
        value = {"scenario raised": type(exc).__name__}
        detail = "".join(traceback.format_exception(exc))[-2000:]
    normalise = Normaliser()
    return {"result": normalise(value), "detail": detail}


def implementation() -> dict[str, str]:
    import flask_socketio

    try:
        from importlib.metadata import version

        peer = version("flask-socketio")
    except Exception:
        peer = None
    return {"file": flask_socketio.__file__, "flask-socketio": peer}


def main(argv: list[str]) -> int:
    out, names = Path(argv[0]), argv[1:] or list(scenarios.SCENARIOS)
    faulthandler.enable()
    results = {}
    for name in names:
        # A hung scenario dumps every thread's stack and ends the run.
        faulthandler.dump_traceback_later(SCENARIO_TIMEOUT, exit=True)
        results[name] = run(name)
        faulthandler.cancel_dump_traceback_later()
    out.write_text(json.dumps({"implementation": implementation(), "results": results},
                              indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
