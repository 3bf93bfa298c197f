"""Process exit codes, documented in the README; distinct so a CI gate can act on them.

Every squall command uses them: a usage error (click's own 2) is INVALID, a crash is ERROR (see ``squall.cli``).
"""

import enum


class ExitCode(enum.IntEnum):
    """What a squall command's exit status means."""

    PASSED = 0  # every check held
    FAILED = 1  # a resilience failure: a steady state or verifier failed
    ABORTED = 2  # a stop condition aborted the run
    INCONCLUSIVE = 3  # a fault could not be injected or was not observed
    INVALID = 4  # bad input or usage, unknown function, unreachable Toxiproxy/cluster, before anything was injected
    ERROR = 5  # squall itself could not finish (cleanup could not remove a fault, or a crash)
