"""Fixtures of the report tests; the parsing helpers live in report_parsing.py (a unique module name)."""

from report_parsing import chaos_journal  # noqa: F401  (fixture)
