"""``python -m squall.load.worker ARGS``: a Locust worker running squall's locustfile (what the worker Deployment runs).

It replaces itself with ``python -m locust -f <squall/load/locustfile.py> ARGS``
(``--worker --master-host ... --master-port ...``); the settings come from
the master with each spawn message, the collector's address from
``$SQUALL_LOAD_COLLECTOR``.
"""

import os
import sys

from squall.load.runner import LOCUSTFILE


def main(argv: list[str]) -> None:
    """Exec Locust with squall's locustfile and `argv`."""
    os.execv(sys.executable, [sys.executable, "-m", "locust", "-f", LOCUSTFILE, *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
