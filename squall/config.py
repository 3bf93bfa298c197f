"""Where squall finds its settings: experiment configuration, then environment, then defaults."""

import os
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULT_TOXIPROXY_URL = "http://127.0.0.1:8474"
RUN_ID_ENV = "SQUALL_RUN_ID"
LEDGER_ENV = "SQUALL_LEDGER"
RUN_ID_HEADER = "X-Chaos-Run-Id"
#: an SLI target's request timeout when the control's arguments give none (seconds)
SLI_TIMEOUT_S = 2.0


def toxiproxy_url(configuration: Mapping[str, Any] | None = None) -> str:
    """The Toxiproxy API address: configuration ``toxiproxy_url``, else $TOXIPROXY_URL, else the default."""
    value = (configuration or {}).get("toxiproxy_url") or os.environ.get("TOXIPROXY_URL")
    url = str(value or DEFAULT_TOXIPROXY_URL).rstrip("/")
    if "://" not in url:
        url = "http://" + url
    return url


#: the userinfo of a URL (``user:password`` or a bare token before ``@``), anywhere in a text
URL_USERINFO = re.compile(r"(?<=://)[^\s/@]+(?=@)")


#: query parameters whose values are credentials (compared case-insensitively, the whole name); documented in
#: docs/masking.md: ``?access_token=abc&page=2`` is kept as ``?access_token=[masked]&page=2``
CREDENTIAL_QUERY_PARAMS = (
    "access_token", "refresh_token", "id_token", "token", "api_key", "api-key", "apikey", "x-api-key", "key",
    "password", "passwd", "pwd", "secret", "client_secret", "sig", "signature", "auth", "authorization",
    "credential", "credentials",
)
#: the value of a credential query parameter (``?token=...`` / ``&sig=...``), anywhere in a text
URL_CREDENTIAL_PARAM = re.compile(
    r"(?i)(?<=[?&;])(" + "|".join(map(re.escape, CREDENTIAL_QUERY_PARAMS)) + r")=(?!\[masked\])[^&#\s\"'\\<>]+"
)


def redact_url(url: str) -> str:
    """A URL safe to print, log or keep in a journal: user:password@ and credential query values become [masked]."""
    return URL_CREDENTIAL_PARAM.sub(r"\1=[masked]", URL_USERINFO.sub("[masked]", url))


def toxiproxy_timeout_s(configuration: Mapping[str, Any] | None = None) -> float:
    """How long one Toxiproxy API request may take: configuration ``toxiproxy_timeout_s``, default 5 s."""
    value = (configuration or {}).get("toxiproxy_timeout_s", 5.0)
    try:
        timeout = float(value)
    except (TypeError, ValueError):
        timeout = -1.0
    if not 0 < timeout <= 300:
        from squall.errors import ExperimentInvalid

        raise ExperimentInvalid(f"toxiproxy_timeout_s={value!r} (expected seconds between 0 and 300)")
    return timeout


def run_id() -> str:
    """The id of the current run, shared by the control, the activities and probe traffic.

    The control sets $SQUALL_RUN_ID when an experiment starts; outside a run a
    fresh id is made once per process and kept in the environment so that every
    activity of the process agrees on it.
    """
    value = os.environ.get(RUN_ID_ENV)
    if not value:
        value = uuid.uuid4().hex[:12]
        os.environ[RUN_ID_ENV] = value
    return value


#: set (to 1) for runs against a system whose resilience mechanisms are switched off (`squall demo --fragile`);
#: the control records such a run as fragile, and reports, the game-day index and history say so
FRAGILE_ENV = "SQUALL_FRAGILE"


def fragile() -> bool:
    """True when this run targets a deliberately fragile system ($SQUALL_FRAGILE set by `squall demo --fragile`)."""
    return os.environ.get(FRAGILE_ENV, "") not in ("", "0")


def ledger_path(configuration: Mapping[str, Any] | None = None) -> Path:
    """Where the fault ledger lives: configuration ``squall_ledger``, else $SQUALL_LEDGER, else the XDG state dir."""
    value = (configuration or {}).get("squall_ledger") or os.environ.get(LEDGER_ENV)
    if value:
        return Path(str(value)).expanduser()
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "squall" / "ledger.jsonl"
