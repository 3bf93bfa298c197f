"""`python -m squall ...` is the same as the `squall` console script."""

from squall.cli import main

main()
