"""Print the verdict-truth matrix: ``python -m tests.truth.matrix [--runs N] [CELL ...]`` (exit 1 if any verdict was wrong)."""

import argparse
import os
import sys
import tempfile
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Run the cells (all, or the named ones) N times each and print the matrix."""
    sys.path.insert(0, str(Path(__file__).parent))
    from truth_cells import BY_NAME
    from truth_runner import render, run_cell

    parser = argparse.ArgumentParser(prog="python -m tests.truth.matrix", description=__doc__)
    parser.add_argument("--runs", type=int, default=int(os.environ.get("SQUALL_TRUTH_RUNS", "1")),
                        help="runs per cell (default $SQUALL_TRUTH_RUNS or 1)")
    parser.add_argument("--list", action="store_true", help="list the cells and their truth, then exit")
    parser.add_argument("cells", nargs="*", help="cell names (default: every cell)")
    args = parser.parse_args(argv)
    unknown = [c for c in args.cells if c not in BY_NAME]
    if unknown or not 1 <= args.runs <= 100:
        parser.error(f"unknown cell(s) {unknown} (expected names from --list)" if unknown
                     else f"--runs {args.runs} (expected 1 to 100)")
    if args.list:
        for name, cell in sorted(BY_NAME.items()):
            print(f"{name}: {cell.truth} - {cell.why}")
        return 0
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="squall-truth-") as tmp:
        os.environ["SQUALL_LEDGER"] = str(Path(tmp) / "ledger.jsonl")  # never a user's ledger
        os.environ["NO_PROXY"] = "127.0.0.1,localhost,::1"
        for name in args.cells or sorted(BY_NAME):
            for _ in range(args.runs):
                o = run_cell(BY_NAME[name])
                print(f"{o.cell}: {o.verdict} ({o.judgement}, {o.seconds} s) {o.summary[:160]}", flush=True)
                outcomes.append(o)
    print(render(outcomes))
    return 0 if all(o.allowed for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
