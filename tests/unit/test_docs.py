"""Every Python example in ``docs/*.rst`` and ``README.rst`` runs, and the docs build.

A Python example is a ``.. code-block:: python`` block or a ``::`` literal block
(Sphinx highlights those as Python). Per file, the blocks run in order in one fresh
module, so a later block uses what an earlier one defined; each ``test_*`` function
a block defines is then called, with the fixtures it names supplied the way the
pytest plugin supplies them. Each file runs in a thread of its own, so it gets its
own in-process scheduler and a virtual clock that starts at zero.

``socketio.run(...)`` must sit under ``if __name__ == "__main__":``; the module's
``__name__`` is never ``"__main__"``, so the server is not started, but the
keyword arguments of the call are checked against ``socketio.run()``'s.

A block that cannot run (a shell command, say) is preceded by an rst comment
``.. not-tested: <reason>``; there may only be a handful of those.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import os
import re
import subprocess
import sys
import textwrap
import threading
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from flask_socketio import serving
from flask_socketio.testing import plugin
from flask_socketio.testing.scheduler import current_scheduler, retire_scheduler

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = [*sorted((ROOT / "docs").glob("*.rst")), ROOT / "README.rst"]

#: How many Python blocks may be marked ``.. not-tested:`` across all the files.
MAX_NOT_TESTED = 5
#: Seconds one file's examples may take.
FILE_TIMEOUT = 120
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

PYTHON_LANGUAGES = frozenset({"python", "python3", "py"})
DIRECTIVE = re.compile(r"^(?P<indent>\s*)\.\.\s+(?:code-block|code|sourcecode)::\s*"
                       r"(?P<language>\S*)\s*$")
NOT_TESTED = re.compile(r"^\s*\.\.\s+not-tested:(?P<reason>.*)$")
OPTION = re.compile(r"^\s+:[\w-]+:")


# -- finding the blocks ----------------------------------------------------------------


@dataclass
class CodeBlock:
    """One code block of an rst file."""

    path: Path
    #: 1-based line of the block's first line of code.
    line: int
    language: str
    code: str
    #: The reason given by a ``.. not-tested:`` comment before the block, if any.
    not_tested: str | None = None

    @property
    def is_python(self) -> bool:
        return self.language in PYTHON_LANGUAGES

    @property
    def end_line(self) -> int:
        return self.line + self.code.count("\n")

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def indentation(line: str) -> int:
    return len(line) - len(line.lstrip())


def find_blocks(path: Path, text: str | None = None) -> list[CodeBlock]:
    """The code blocks of ``path`` (or of ``text``), with their not-tested markers.

    A marker must be followed by a code block with nothing in between but blank
    lines (and, for a ``::`` literal block, the paragraph that introduces it).
    """
    lines = (path.read_text(encoding="utf-8") if text is None else text).splitlines()
    blocks: list[CodeBlock] = []
    marker: tuple[int, str] | None = None  # (index of the marker line, reason)
    index = 0
    while index < len(lines):
        line = lines[index]
        found = NOT_TESTED.match(line)
        if found:
            if marker is not None:
                raise ValueError(f"{path}:{marker[0] + 1}: not-tested marker without a block")
            reason = found["reason"].strip()
            if not reason:
                raise ValueError(f"{path}:{index + 1}: a not-tested marker needs a reason")
            marker = (index, reason)
            index += 1
            continue
        directive = DIRECTIVE.match(line)
        stripped = line.strip()
        is_literal = (stripped.endswith("::") and not stripped.startswith("..")
                      and set(stripped) != {":"} or stripped == "::")
        if not directive and not is_literal:
            index += 1
            continue
        if directive:
            language = (directive["language"] or "python").lower()
            opening = index
        else:
            language = "python"
            opening = index
            while opening > 0 and lines[opening - 1].strip():
                opening -= 1  # the first line of the introducing paragraph
        parent_indent = indentation(line)
        body_start = index + 1
        while body_start < len(lines) and (
                not lines[body_start].strip()
                or (directive and OPTION.match(lines[body_start]))):
            body_start += 1
        body_end = body_start
        while body_end < len(lines) and (not lines[body_end].strip()
                                         or indentation(lines[body_end]) > parent_indent):
            body_end += 1
        while body_end > body_start and not lines[body_end - 1].strip():
            body_end -= 1
        if body_end == body_start or indentation(lines[body_start]) <= parent_indent:
            index += 1  # a paragraph ending in "::" with no block after it
            continue
        reason = None
        if marker is not None:
            between = lines[marker[0] + 1:opening]
            if any(text.strip() for text in between):
                raise ValueError(f"{path}:{marker[0] + 1}: not-tested marker is not right "
                                 "before a code block")
            reason = marker[1]
            marker = None
        code = textwrap.dedent("\n".join(lines[body_start:body_end]))
        blocks.append(CodeBlock(path, body_start + 1, language, code, reason))
        index = body_end
    if marker is not None:
        raise ValueError(f"{path}:{marker[0] + 1}: not-tested marker without a block")
    return blocks


def python_blocks(path: Path) -> list[CodeBlock]:
    return [block for block in find_blocks(path) if block.is_python]


# -- checking what may not run -----------------------------------------------------------

#: What ``socketio.run()`` takes by name (the rest goes to gevent's WSGIServer).
RUN_KEYWORDS = ({name for name, parameter in inspect.signature(serving.run).parameters.items()
                 if parameter.kind is not parameter.VAR_KEYWORD}
                | {"certfile", "keyfile"}) - {"socketio"}


def is_main_guard(node: ast.AST) -> bool:
    """Is ``node`` ``if __name__ == "__main__":``?"""
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    test = node.test
    sides = [test.left, *test.comparators]
    return (len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)
            and any(isinstance(side, ast.Name) and side.id == "__name__" for side in sides)
            and any(isinstance(side, ast.Constant) and side.value == "__main__"
                    for side in sides))


def check_run_calls(block: CodeBlock) -> None:
    """``<something>.run(...)`` only under the main guard, with keywords run() takes."""
    tree = ast.parse(block.code)

    def visit(node: ast.AST, guarded: bool) -> None:
        if is_main_guard(node):
            guarded = True
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "run" and isinstance(node.func.value, ast.Name)):
            line = block.line + node.lineno - 1
            if not guarded:
                pytest.fail(f"{block.path.name}:{line}: {node.func.value.id}.run() must sit "
                            'under if __name__ == "__main__":', pytrace=False)
            if node.func.value.id == "socketio":
                unknown = {kw.arg for kw in node.keywords} - RUN_KEYWORDS - {None}
                if unknown:
                    pytest.fail(f"{block.path.name}:{line}: socketio.run() takes no "
                                f"{sorted(unknown)}", pytrace=False)
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    visit(tree, False)


# -- fixtures for the examples' tests ----------------------------------------------------


def is_fixture(value: Any) -> bool:
    """A function decorated with ``@pytest.fixture`` (pytest 8.0-8.3 and 8.4+)."""
    return hasattr(value, "_fixture_function_marker") or hasattr(value, "_pytestfixturefunction")


class _Config:
    """The bits of ``pytest.Config`` the plugin's fixtures read: nothing switched on."""

    def getini(self, name: str) -> Any:
        return False

    def getoption(self, name: str) -> Any:
        return False


class _Node:
    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function

    def get_closest_marker(self, name: str) -> Any:
        marks = getattr(self.function, "pytestmark", [])
        return next((mark for mark in marks if mark.name == name), None)


@dataclass
class FixtureRequest:
    """Supplies a doc test's fixtures: the chapter's own, else the pytest plugin's."""

    module: types.ModuleType
    test: Callable[..., Any]
    values: dict[str, Any] = field(default_factory=dict)
    teardowns: list[Iterator[Any]] = field(default_factory=list)
    config: _Config = field(default_factory=_Config)

    @property
    def node(self) -> _Node:
        return _Node(self.test)

    def getfixturevalue(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        if name == "request":
            return self
        definition = self.module.__dict__.get(name)
        if not is_fixture(definition):
            definition = getattr(plugin, name, None)
        if not is_fixture(definition):
            raise LookupError(f"{self.test.__name__} asks for fixture {name!r}, which "
                              "neither its chapter nor the pytest plugin defines")
        function = definition.__wrapped__
        value = self.call(function)
        if inspect.isgenerator(value):
            self.teardowns.append(value)
            value = next(value)
        self.values[name] = value
        return value

    def call(self, function: Callable[..., Any]) -> Any:
        names = inspect.signature(function).parameters
        return function(**{name: self.getfixturevalue(name) for name in names})

    def close(self) -> None:
        while self.teardowns:
            generator = self.teardowns.pop()
            try:
                next(generator)
            except StopIteration:
                continue
            raise RuntimeError(f"fixture generator {generator!r} yielded twice")


def run_doc_test(module: types.ModuleType, test: Callable[..., Any]) -> None:
    """Call ``test`` as pytest would: fixtures first, then the plugin's end of a test
    (tasks left running fail it, as the leak guard does by default; the next test
    gets a fresh scheduler)."""
    request = FixtureRequest(module, test)
    try:
        request.call(test)
    finally:
        request.close()
        left = retire_scheduler()
    if left:
        raise AssertionError(f"{test.__name__} left Socket.IO tasks running: "
                             + ", ".join(task.name for task in left))


# -- running a file ----------------------------------------------------------------------


@dataclass
class FileRun:
    blocks: int = 0
    tests: list[str] = field(default_factory=list)


def defined_tests(module: types.ModuleType, block: CodeBlock) -> list[Callable[..., Any]]:
    """The ``test_*`` functions ``block`` defined in ``module``."""
    found = []
    for name, value in module.__dict__.items():
        if name.startswith("test_") and isinstance(value, types.FunctionType):
            code = value.__code__
            if code.co_filename == str(block.path) and (
                    block.line <= code.co_firstlineno <= block.end_line):
                found.append(value)
    return found


def run_file(path: Path) -> FileRun:
    """Run ``path``'s Python blocks in one module, and the tests they define."""
    result = FileRun()
    name = "docs_example_" + re.sub(r"\W", "_", path.stem.lower())
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module
    try:
        for block in python_blocks(path):
            if block.not_tested is not None:
                continue
            check_run_calls(block)
            source = "\n" * (block.line - 1) + block.code + "\n"
            exec(compile(source, str(block.path), "exec"), module.__dict__)
            result.blocks += 1
            for test in defined_tests(module, block):
                run_doc_test(module, test)
                result.tests.append(test.__name__)
    finally:
        sys.modules.pop(name, None)
        current_scheduler().kill_all()
    return result


def run_in_own_thread(function: Callable[[], Any]) -> Any:
    """``function()`` in a new thread (its own scheduler and clock); re-raise its error."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = function()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test below
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="docs examples", daemon=True)
    thread.start()
    thread.join(FILE_TIMEOUT)
    if thread.is_alive():
        pytest.fail(f"the examples did not finish within {FILE_TIMEOUT}s", pytrace=False)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# -- the tests ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", DOC_FILES, ids=[path.name for path in DOC_FILES])
def test_python_examples_run(path: Path) -> None:
    result = run_in_own_thread(lambda: run_file(path))
    total = len([block for block in python_blocks(path) if block.not_tested is None])
    assert result.blocks == total
    if path.name == "testing.rst":
        assert len(result.tests) >= 20, result.tests  # one or more per capability


def test_every_chapter_has_runnable_python() -> None:
    prose_only = {"index.rst", "api.rst"}
    for path in DOC_FILES:
        if path.name not in prose_only:
            runnable = [block for block in python_blocks(path) if block.not_tested is None]
            assert runnable, f"{path.name} has no runnable Python example"


def test_only_a_handful_of_blocks_are_not_tested() -> None:
    excluded = [block for path in DOC_FILES for block in find_blocks(path)
                if block.not_tested is not None]
    described = "\n".join(f"  {block.where}: {block.not_tested}" for block in excluded)
    assert len(excluded) <= MAX_NOT_TESTED, f"too many untested blocks:\n{described}"
    for block in excluded:
        assert len(block.not_tested or "") >= 10, f"{block.where}: give a real reason"


def test_finding_blocks() -> None:
    text = textwrap.dedent("""\
        Title
        =====

        Some code:

        .. code-block:: python
           :caption: example

            x = 1

            y = x + 1

        A page:

        .. code-block:: html

            <p>hi</p>

        .. not-tested: shell commands, not Python

        Run this
        to install::

            pip install thing

        Literal again::

            z = 3

        ::

            w = 4

        .. toctree::

           chapter
        """)
    blocks = find_blocks(Path("x.rst"), text)
    assert [(block.line, block.language, block.code, block.not_tested) for block in blocks] == [
        (9, "python", "x = 1\n\ny = x + 1", None),
        (17, "html", "<p>hi</p>", None),
        (24, "python", "pip install thing", "shell commands, not Python"),
        (28, "python", "z = 3", None),
        (32, "python", "w = 4", None),
    ]
    with pytest.raises(ValueError, match="not right before"):
        find_blocks(Path("x.rst"), ".. not-tested: reason here\n\ntext\n\nmore\n\n::\n\n    a\n")
    with pytest.raises(ValueError, match="without a block"):
        find_blocks(Path("x.rst"), "text\n\n.. not-tested: reason here\n")
    with pytest.raises(ValueError, match="needs a reason"):
        find_blocks(Path("x.rst"), ".. not-tested:\n\n::\n\n    a\n")


def test_run_calls_must_be_guarded() -> None:
    def block(code: str) -> CodeBlock:
        return CodeBlock(Path("x.rst"), 1, "python", textwrap.dedent(code))

    check_run_calls(block('if __name__ == "__main__":\n    socketio.run(app, port=1)\n'))
    with pytest.raises(pytest.fail.Exception, match="must sit under"):
        check_run_calls(block("socketio.run(app)\n"))
    with pytest.raises(pytest.fail.Exception, match="takes no"):
        check_run_calls(block('if __name__ == "__main__":\n    socketio.run(app, prot=1)\n'))


def test_docs_build_without_warnings(tmp_path: Path) -> None:
    if importlib.util.find_spec("sphinx") is None:
        if IN_CI:
            pytest.fail("sphinx is not installed; CI must build the docs", pytrace=False)
        pytest.skip("sphinx is not installed (pip install sphinx)")
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-b", "html",
               "-d", str(tmp_path / "doctrees"), str(ROOT / "docs"), str(tmp_path / "html")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, (f"sphinx-build -W failed:\n{result.stdout[-3000:]}\n"
                                    f"{result.stderr[-5000:]}")
