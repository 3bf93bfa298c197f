"""Mutations of real journals for the report's robustness tests: what a crashed, edited or hostile journal holds."""

import copy
import json
from pathlib import Path
from typing import Any

import report_journals as J
from hypothesis import strategies as st

DATA = Path(__file__).parent / "data"

#: strings a journal should never have but might: XML-illegal code points, lone surrogates, markup, bidi, long text
WEIRD_TEXT = [
    "", " ", "\ufffe", "\uffff", "\x00", "\x01\x02\x1b[31m", "\x7f", "\ud800", "a\udfffb", "\ud83d",
    "<script>alert(1)</script>", "]]>", "&amp;&lt;", '"\'`|*_[]#', "\u202e\u200f reversed", "😀" * 50,
    "line\nbreak\r\n\ttab", "x" * 20_000, "word " * 2_000 + "!", "a-" * 5_000 + "token", "a." * 5_000 + "@",
    "eyJ" * 3_000, "http://u:p@h/?token=abc&sig=z", "NaN", "1e309",
]
WEIRD_NUMBERS = [0, -1, 1, 2**63, -(2**63), 10**30, 10**300, 10**400, 1e308, -1e308, float("nan"), float("inf"),
                 float("-inf"), 1e-320, 1.5, 1_764_300_000.5, 1e11, -1e11, 253402300800.0]


def base_journals() -> dict[str, dict[str, Any]]:
    """Realistic journals: the builders in report_journals.py and journals of real `chaos run`s with the control."""
    out = {"passed": J.passed_run(), "failed": J.failed_verifier_run(), "aborted": J.aborted_run(),
           "crashed": J.crashed_run()}
    for path in sorted(DATA.glob("*journal*.json")):
        out[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    return out


BASES = base_journals()


def nested(depth: int, leaf: Any = "bottom") -> Any:
    """A value nested `depth` levels deep (built without recursion)."""
    value: Any = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


def paths(value: Any, prefix: tuple[Any, ...] = (), limit: int = 4_000) -> list[tuple[Any, ...]]:
    """Every path to a value inside a journal (dict keys and list indexes), at most `limit` of them."""
    out: list[tuple[Any, ...]] = []
    stack = [(prefix, value)]
    while stack and len(out) < limit:
        path, v = stack.pop()
        out.append(path)
        if isinstance(v, dict):
            stack.extend((path + (k,), v[k]) for k in v)
        elif isinstance(v, list):
            # long timelines: a few rows are enough to reach every shape
            stack.extend((path + (i,), v[i]) for i in range(min(len(v), 6)))
    return out


#: big values, built when a recipe is applied (so that a failing example prints as a short recipe)
SHAPES: dict[str, Any] = {
    "nested-300": lambda: nested(300), "nested-5000": lambda: nested(5_000), "range-5000": lambda: list(range(5_000)),
    # 3,000 distinct rows: a JSON file is a tree, never 3,000 references to one row (which, nested twice,
    # makes a 9-million-value journal in memory)
    "rows-3000": lambda: [[1.0, "x", 1, 200, 1.0, None] for _ in range(3_000)], "empty-dict": dict,
    "empty-list": list,
}
KEYS = ["name", "status", "t", "ok", "type", "url", "password", "\ud800", "", "summary", "evidence", "verifier"]

Scalar = st.one_of(st.none(), st.booleans(), st.sampled_from(WEIRD_NUMBERS), st.sampled_from(WEIRD_TEXT),
                   st.text(max_size=40), st.integers(), st.floats(allow_nan=True, allow_infinity=True))
Value = st.one_of(
    Scalar.map(lambda v: ("scalar", v)),
    st.lists(Scalar, max_size=5).map(lambda v: ("scalar", v)),
    st.dictionaries(st.sampled_from(KEYS), Scalar, max_size=4).map(lambda v: ("scalar", v)),
    st.sampled_from(sorted(SHAPES)).map(lambda name: ("shape", name)),
)
Step = st.tuples(st.integers(0, 10**6), st.sampled_from(["drop", "replace", "replace", "wrap", "stringify", "rekey"]),
                 Value, st.sampled_from(WEIRD_TEXT[:12]))
#: a mutation recipe: the base journal and 1-6 steps (which path, what to do, with what)
Recipe = st.tuples(st.sampled_from(sorted(BASES)), st.lists(Step, min_size=1, max_size=6))


def _container(root: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        root = root[key]
    return root


def _value(spec: tuple[str, Any]) -> Any:
    kind, arg = spec
    return SHAPES[arg]() if kind == "shape" else copy.deepcopy(arg)


def apply(recipe: tuple[str, list[tuple[int, str, tuple[str, Any], str]]]) -> dict[str, Any]:
    """A real journal with the recipe's mutations: keys dropped, other types, huge, NaN, deep, weird unicode."""
    name, steps = recipe
    journal = copy.deepcopy(BASES[name])
    for pick, op, spec, new_key in steps:
        where = paths(journal)[1:]
        if not where:
            break
        path = where[pick % len(where)]
        parent = _container(journal, path[:-1])
        key = path[-1]
        if op == "drop":
            del parent[key]
        elif op == "replace":
            parent[key] = _value(spec)
        elif op == "wrap":
            parent[key] = [[parent[key]], {"value": parent[key]}, nested(40, parent[key])][pick % 3]
        elif op == "stringify":
            try:
                parent[key] = json.dumps(parent[key], default=str)[:500]
            except RecursionError:  # the harness's own json.dumps on a deep value
                parent[key] = "[" * 500
        elif op == "rekey" and isinstance(parent, dict):
            parent[new_key] = parent.pop(key)
    return journal
