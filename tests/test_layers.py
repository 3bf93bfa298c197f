"""squall's parts import downwards only, and no import (or name loaded by string) closes a circle.

Each top-level part of the package (a sub-package or module of ``squall``) has a
layer; a part may import parts of its own or a lower layer. Imports inside
functions count, and so do names loaded by string (``importlib.import_module``
and ``"module:attr"`` registries), because those close circles just the same.
"""

import ast
import re
from collections import defaultdict
from pathlib import Path

import squall

ROOT = Path(squall.__file__).parent

#: lowest first; a part may import only parts of its own layer or below
LAYERS: list[set[str]] = [
    {"errors", "exitcodes", "percentiles", "config", "tracecontext", "bounds", "activity", "quiet", "background",
     "loader", "loops", "statistics", "httpscope"},
    {"ledger", "toxiproxy_client", "outcome", "telemetry"},
    {"proxy", "k8s"},
    {"probes", "actions", "load"},
    {"cleanup", "verify", "reporting"},
    {"control"},
    {"validation"},
    {"gameday"},
    {"validate", "demo"},
    {"cli", "__main__", "__init__"},
]
LAYER = {part: i for i, parts in enumerate(LAYERS) for part in parts}
_BY_STRING = re.compile(r"^squall\.([a-z_]+)[a-z_.]*(:[A-Za-z_]+)?$")


def _part(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0].removesuffix(".py")


def _targets(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + ([f"{node.module}.{a.name}" for a in node.names] if node.module == "squall" else [])
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _BY_STRING.match(node.value):
            if ":" in node.value or isinstance(getattr(node, "parent", None), ast.Call):
                names = [node.value.split(":")[0]]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                names = [arg.value]
        for name in names:
            parts = name.split(".")
            if parts[0] == "squall" and len(parts) > 1:
                found.add(parts[1])
    return found


def _graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for path in ROOT.rglob("*.py"):
        src = _part(path)
        for dst in _targets(ast.parse(path.read_text(encoding="utf-8"))):
            if dst != src and ((ROOT / dst).is_dir() or (ROOT / f"{dst}.py").exists()):
                edges[src].add(dst)
    return edges


def test_every_part_has_a_layer() -> None:
    parts = {_part(p) for p in ROOT.rglob("*.py")}
    assert parts - set(LAYER) == set(), "give each new part of squall a layer in tests/test_layers.py"


def test_no_import_points_up_the_layers() -> None:
    upward = sorted(f"{src} -> {dst}" for src, dsts in _graph().items() for dst in dsts
                    if LAYER.get(dst, -1) > LAYER.get(src, 99))
    assert upward == []


def test_no_import_cycle() -> None:
    edges = _graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    assert cycles == []
