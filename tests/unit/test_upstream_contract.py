"""The contract with upstream libraries: every private member we touch still exists,
takes what we pass it, and is listed in ``flask_socketio.upstream``.

An upgrade of python-socketio, python-engineio, Flask or Werkzeug that renames or
reshapes one of them fails here with the member's name, before users see it.
``scripts/check-upstream.sh`` runs this file against the newest releases.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import bidict
import flask
import pytest
import socketio

import flask_socketio
from flask_socketio.upstream import PRIVATE_MEMBERS, PrivateMember

PACKAGE = Path(flask_socketio.__file__).resolve().parent

#: How to get an instance of an owner whose members are set by ``__init__``.
INSTANCES: dict[str, Callable[[], Any]] = {
    "socketio.base_server:BaseServer": lambda: socketio.Server(async_mode="threading"),
    "flask.ctx:RequestContext": lambda: flask.Flask(__name__).test_request_context(),
    "bidict:bidict": lambda: bidict.bidict({"sid": "eio_sid"}),
}


def resolve(owner: str) -> Any:
    module_name, _, qualname = owner.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in filter(None, qualname.split(".")):
        target = getattr(target, part)
    return target


@pytest.mark.parametrize("member", PRIVATE_MEMBERS, ids=lambda m: f"{m.owner}.{m.name}")
def test_each_private_member_we_use_still_exists_as_we_use_it(member: PrivateMember):
    where = f"{member.owner}.{member.name} (we use it in {member.why})"
    owner = resolve(member.owner)
    if member.instance:
        instance = INSTANCES[member.owner]()
        assert member.name in vars(instance), f"{where} is no longer set on instances"
        return
    assert hasattr(owner, member.name), f"{where} no longer exists"
    if member.params is not None:
        function = getattr(owner, member.name)
        assert callable(function), f"{where} is no longer callable"
        names = [name for name in inspect.signature(function).parameters
                 if name not in ("self", "cls", "args", "kwargs")]
        assert names[:len(member.params)] == list(member.params), (
            f"{where} now takes {names}, we call it with {list(member.params)}")


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield str(path.relative_to(PACKAGE)), ast.parse(path.read_text(), str(path))


def _names_we_define() -> set[str]:
    """Private names our own package defines: functions, classes, attributes, variables."""
    defined: set[str] = set()
    for _, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                defined.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store,
                                                                            ast.Del)):
                defined.add(node.attr)
            elif isinstance(node, ast.alias):
                defined.add((node.asname or node.name).split(".")[0])
            elif isinstance(node, ast.arg):
                defined.add(node.arg)
    return {name for name in defined if _is_private(name)}


def _private_uses() -> Iterator[tuple[str, int, str]]:
    """``(file, line, name)`` of every private attribute read or overridden upstream:
    ``x._name`` that our package never defines, and ``import a._b``/``from a._b``."""
    ours = _names_we_define()
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _is_private(node.attr):
                if node.attr not in ours:
                    yield path, node.lineno, node.attr
            elif isinstance(node, ast.ImportFrom) and node.module:
                for part in node.module.split("."):
                    if _is_private(part) and node.level == 0:
                        for alias in node.names:
                            yield path, node.lineno, alias.name
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield from _overrides(path, node)


def _overrides(path: str, node: ast.FunctionDef | ast.AsyncFunctionDef
               ) -> Iterator[tuple[str, int, str]]:
    """A private method we define that an upstream base class also defines."""
    if not _is_private(node.name):
        return
    for member in PRIVATE_MEMBERS:
        if member.name == node.name:
            return  # listed
    for name, value in _upstream_bases():
        if node.name in vars(value):
            yield path, node.lineno, f"{node.name} (overrides {name})"


def _upstream_bases() -> list[tuple[str, type]]:
    bases = []
    for cls in (socketio.Server, socketio.PubSubManager, socketio.RedisManager,
                socketio.KombuManager, socketio.Client, socketio.Namespace):
        for base in cls.__mro__:
            if base is not object:
                bases.append((f"{base.__module__}.{base.__qualname__}", base))
    return bases


def test_every_private_member_the_code_uses_is_listed():
    listed = {member.name for member in PRIVATE_MEMBERS}
    unlisted = sorted({(path, line, name) for path, line, name in _private_uses()
                       if name.split(" ")[0] not in listed and name not in STDLIB})
    assert not unlisted, (
        "private members of other libraries used but not listed in "
        "flask_socketio/upstream.py (add each, with why, or use a public API):\n"
        + "\n".join(f"  {path}:{line}: {name}" for path, line, name in unlisted))


#: Underscored names of the standard library that are documented public API.
STDLIB = {"_exit", "_create_unverified_context", "_getframe", "_replace", "_asdict",
          "_fields", "_make", "_current_frames"}
