"""A probe for tests/control: which of Locust's modules the control's process has imported (none, ever)."""

import sys


def locust_modules() -> dict:
    """Whether gevent, locust or geventhttpclient are in this process's sys.modules."""
    return {name: name in sys.modules for name in ("gevent", "locust", "geventhttpclient")}
