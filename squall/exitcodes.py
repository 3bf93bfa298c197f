"""Process exit codes, documented in the README; distinct so a CI gate can act on them."""

import enum


class ExitCode(enum.IntEnum):
    """What a squall command's exit status means."""

    PASSED = 0  # every check held
    FAILED = 1  # a resilience failure: a steady state or verifier failed
    ABORTED = 2  # a stop condition aborted the run
    INCONCLUSIVE = 3  # a fault could not be injected or was not observed
    INVALID = 4  # bad input, unknown function, unreachable Toxiproxy/cluster, before anything was injected
    ERROR = 5  # squall itself could not finish (e.g. cleanup could not remove a fault)
