"""Where the server's time goes, by layer, from py-spy's collapsed stacks.

    python bench/profile.py            # runs the server under load with py-spy
    python bench/profile_layers.py STACKS.txt [--top 25]

Each sample is charged to the layer of its innermost frame that belongs to one
(standard library frames such as ``json`` are charged to the layer that called
them): Engine.IO transport (our engine, python-engineio, gevent-websocket, pywsgi),
Socket.IO protocol (python-socketio, our protocol.py and packet_rules.py), Flask
bridge (our context.py, extension.py, handlers.py, Flask, Werkzeug), handler (the
benchmark app), gevent (hub, greenlet switching and spawning, socket waits).
"""

from __future__ import annotations

import argparse
import collections
import re
import sys

FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^():]+)(?::(?P<line>\d+))?\)$")

LAYERS = [
    ("handler (app code)", ("bench/servers/", "flask_app.py")),
    ("Flask bridge", ("flask_socketio/context.py", "flask_socketio/extension.py",
                      "flask_socketio/handlers.py", "flask_socketio/middleware.py",
                      "flask_socketio/sending.py", "flask_socketio/namespace.py",
                      "flask/", "werkzeug/")),
    ("Socket.IO protocol", ("socketio/", "flask_socketio/protocol.py",
                            "flask_socketio/packet_rules.py",
                            "flask_socketio/room_observer.py", "bidict/")),
    ("Engine.IO transport", ("flask_socketio/engine/", "engineio/", "geventwebsocket/",
                             "gevent/pywsgi.py", "gevent/baseserver.py", "gevent/server.py",
                             "gevent/_socketcommon.py", "gevent/_socket3.py")),
    ("gevent (hub, greenlets, waits)", ("gevent/", "greenlet")),
]


def layer_of(file: str) -> str | None:
    for name, prefixes in LAYERS:
        for prefix in prefixes:
            if prefix in file:
                # flask_socketio/engine/ must not count as the "flask/" bridge
                if prefix == "flask/" and "flask_socketio" in file:
                    continue
                return name
    return None


def parse(path: str) -> list[tuple[list[tuple[str, str]], int]]:
    samples = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.rstrip("\n")
            if not line:
                continue
            stack_text, _, count = line.rpartition(" ")
            frames = []
            for part in stack_text.split(";"):
                match = FRAME.match(part.strip())
                if match:
                    frames.append((match["func"], match["file"]))
                elif part.strip():
                    frames.append((part.strip(), ""))
            samples.append((frames, int(count)))
    return samples


def summarize(samples: list[tuple[list[tuple[str, str]], int]], top: int) -> str:
    total = sum(count for _, count in samples)
    idle = 0
    layers: collections.Counter[str] = collections.Counter()
    self_time: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    for frames, count in samples:
        leaf_func, leaf_file = frames[-1] if frames else ("?", "")
        root_func = frames[0][0] if frames else ""
        if (not frames or leaf_func.startswith("Hub.run") or leaf_func == "?"
                or root_func.startswith("_WorkerGreenlet.run")):
            idle += count
            continue
        for _func, file in reversed(frames):
            name = layer_of(file)
            if name is not None:
                layers[name] += count
                break
        else:
            layers["other"] += count
        self_time[f"{leaf_func} ({leaf_file})"] += count
        seen = set()
        for func, file in frames:
            key = f"{func} ({file})"
            if key not in seen:
                seen.add(key)
                inclusive[key] += count
    busy = total - idle
    out = [f"{total} samples, {busy} busy ({100 * idle / max(total, 1):.0f}% idle: the hub "
           f"waiting, threadpool workers, unknown frames); shares are of busy samples",
           "", "| layer | share of busy samples |", "|---|---|"]
    for name, count in layers.most_common():
        out.append(f"| {name} | {100 * count / max(busy, 1):.1f}% |")
    out += ["", f"Top {top} functions by own time:", "", "| function | own |", "|---|---|"]
    for key, count in self_time.most_common(top):
        out.append(f"| `{key}` | {100 * count / max(busy, 1):.1f}% |")
    out += ["", f"Top {top} functions by inclusive time:", "", "| function | inclusive |",
            "|---|---|"]
    for key, count in inclusive.most_common(top):
        out.append(f"| `{key}` | {100 * count / max(busy, 1):.1f}% |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stacks", help="py-spy record -f raw output")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    print(summarize(parse(args.stacks), args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
