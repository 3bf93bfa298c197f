"""squall.statistics is pure computation with a deliberate public face."""

import ast
from pathlib import Path

import squall.statistics

PACKAGE = Path(squall.statistics.__file__).parent


def test_it_imports_nothing_from_the_rest_of_squall_and_does_no_io() -> None:
    outside: list[str] = []
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for module in modules:
                top = module.split(".")[0]
                if (top == "squall" and not module.startswith("squall.statistics")) or \
                        top in {"socket", "httpx", "aiohttp", "subprocess", "os", "pathlib", "urllib"}:
                    outside.append(f"{path.name}: {module}")
    assert outside == []


def test_it_exports_exactly_its_public_names() -> None:
    assert set(squall.statistics.__all__) == {
        "MAX_PER_GROUP", "MIN_RATIO_REQUESTS", "PLANNING_POWER", "TAIL_REQUESTS", "Comparison", "Effect", "Sample",
        "Verdict", "compare", "minimum_requests", "quantile_interval", "quantile_variance", "ratio_interval",
        "ratio_variance", "sample_size",
    }
    for name in squall.statistics.__all__:
        assert hasattr(squall.statistics, name), name
