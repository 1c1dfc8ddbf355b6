"""The package's modules reference each other in no cycle of more than three files.

Every import counts: at the top, inside functions (lazy imports) and under
``if TYPE_CHECKING:`` (a type-only reference is a reference all the same). What a
Flask extension honestly needs is one knot: ``SocketIO`` mixes the cluster
operations in and makes test clients, which both name it. Everything else depends
one way: lower layers get what they use (a server lookup, a registry, a Protocol),
not the extension.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "flask_socketio"
MAX_CYCLE = 3


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """``{module: the package's modules it imports}``, from every import statement."""
    paths = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in paths.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[:len(package) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                for alias in node.names:  # ``from . import x``: the submodule x
                    submodule = f"{module}.{alias.name}"
                    targets.add(submodule if submodule in paths else module)
        graph[name] = {target for target in targets if target in paths and target != name}
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    components.append(component)
    return components


def test_the_graph_sees_lazy_and_type_only_imports():
    graph = import_graph()
    assert "flask_socketio.testing.client" in graph["flask_socketio.extension"]  # lazy
    assert "flask_socketio.recovery" in graph["flask_socketio.context"]  # TYPE_CHECKING
    assert "flask_socketio.engine.websocket" in graph["flask_socketio.engine.native"]


def test_a_cycle_is_found():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert {"a", "b", "c"} in strongly_connected(graph)
    assert {"d"} in strongly_connected(graph)


def test_no_import_cycle_is_longer_than_three_files():
    cycles = [sorted(c) for c in strongly_connected(import_graph()) if len(c) > 1]
    too_long = [cycle for cycle in cycles if len(cycle) > MAX_CYCLE]
    assert not too_long, f"import cycles longer than {MAX_CYCLE} files: {too_long}"


def test_production_modules_do_not_import_the_test_machinery():
    """The in-process engine and the scheduler live in the test toolkit; outside it,
    only the test client is reached for: by ``SocketIO.test_client`` and by the
    package's and ``flask_socketio.test_client``'s re-exports of its class (the
    names Flask-SocketIO has)."""
    graph = import_graph()
    production = {name: imports for name, imports in graph.items()
                  if not name.startswith("flask_socketio.testing")}
    reaching_in = {name: sorted(i for i in imports if i.startswith("flask_socketio.testing"))
                   for name, imports in production.items()}
    reaching_in = {name: imports for name, imports in reaching_in.items() if imports}
    assert reaching_in == {"flask_socketio": ["flask_socketio.testing"],
                           "flask_socketio.extension": ["flask_socketio.testing.client"],
                           "flask_socketio.test_client": ["flask_socketio.testing.client"]}
