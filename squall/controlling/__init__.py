"""The machinery behind ``squall.control``: settings, SLI timeline, stop conditions, signal guard, verdicts.

``squall.control`` holds only the Chaos Toolkit hook functions; each concept
lives in its own module here:

- ``settings``        the control's arguments, validated into frozen dataclasses
- ``timeline``        the background SLI sampler (bounded, one request in flight per target)
- ``stopconditions``  success-rate floors and error-budget burn rates over the timeline
- ``guard``           SIGINT/SIGTERM handling that removes the run's faults within a second
- ``faults``          removing the run's faults through the ledger, and the sweep for interrupted actions
- ``verdict``         checks, fault windows, observed faults and the honest verdict
- ``journal``         secret masking, marking the journal, rendering the report
- ``run``             one controlled run: ties the above together and writes the journal extension
"""
