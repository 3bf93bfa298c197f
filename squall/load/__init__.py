"""Traffic during a run: Locust in its own process (or Locust's distributed master and workers).

- ``spec``       the control's ``load`` argument, validated (``parse``) into a frozen ``LoadSpec``
- ``groups``     control and experiment groups: the ``squall.group`` baggage member and who carries it
- ``runner``     ``LoadRun``: start Locust by PID, wait for the warm-up, stop every process it started
- ``collector``  the loopback port the Locust processes send their samples to (bounded memory)
- ``registry``   the load running in this process, for verifiers
- ``locustfile`` loaded only inside Locust's process (never imported here: gevent monkey-patches)
"""

from squall.load.collector import LoadSample
from squall.load.groups import CONTROL, EXPERIMENT, EXPERIMENT_SCOPE, GROUP_MEMBER
from squall.load.registry import current
from squall.load.runner import LoadError, LoadRun
from squall.load.spec import LoadSpec, LoadTarget, parse

__all__ = ["CONTROL", "EXPERIMENT", "EXPERIMENT_SCOPE", "GROUP_MEMBER", "LoadError", "LoadRun", "LoadSample",
           "LoadSpec", "LoadTarget", "current", "parse"]
