"""The agreement tests read the report tests' journals (builders, real runs, hostile mutations)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "reporting"))
