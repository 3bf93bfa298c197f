"""Checks that run before anything is injected: experiments, argument values, proxy names, declared roles.

- ``experiment``  an experiment's shape, providers, arguments and tolerances; the squall control's arguments
- ``values``      argument ranges (from ``squall.bounds``), ``toxiproxy_url``, process programs
- ``proxies``     every proxy an experiment names exists on the Toxiproxy it reaches (or is created first)
- ``roles``       warnings from the roles activities declare (an injection nothing checks, ...)
- ``scopes``      the request scopes of HTTP faults and of ``fault_scope`` (checked, and shown by validate)

``squall validate`` (``squall/validate.py``) and the game day's preflight both use these.
"""

from squall.validation.experiment import Problem, check_experiment, load_document, validate_experiment

__all__ = ["Problem", "check_experiment", "load_document", "validate_experiment"]
