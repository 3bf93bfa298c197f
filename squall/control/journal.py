"""Writing what the control observed: secret masking, the journal verdict, the report on exit."""

import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from squall.config import URL_CREDENTIAL_PARAM, URL_USERINFO

logger = logging.getLogger("chaostoolkit.squall")

MASK = "[masked]"
MIN_SECRET_LEN = 3  # shorter literal secrets would mask random letters everywhere
REPORT_DIR_ENV = "SQUALL_REPORT_DIR"


#: fields of an env/vault reference that name where a secret lives (not secrets themselves)
_REFERENCE_FIELDS = {"type", "key", "path", "env_var_type"}


class SecretMask:
    """Replaces every secret of a run, and credentials in URLs, wherever they appear.

    Secrets: every value Chaos Toolkit loaded from the ``secrets`` section, every
    value declared there (an env entry's ``default`` included, used or not), and
    the value used and the declared default of each secret-looking configuration
    entry (``masking.is_secret_entry``), and any `extra` value (the tracing exporter's
    header values). In URLs: the ``user:password@`` part and
    the value of credential query parameters (``config.CREDENTIAL_QUERY_PARAMS``).
    """

    def __init__(
        self,
        secrets: Mapping[str, Any] | None,
        configuration: Mapping[str, Any] | None = None,
        experiment: Mapping[str, Any] | None = None,
        extra: Iterable[str] = (),
    ) -> None:
        from squall.reporting.masking import is_secret_entry

        self.names: list[str] = []
        values: set[str] = set()
        for scope, entries in (secrets or {}).items():
            if isinstance(entries, Mapping):
                for key, value in entries.items():
                    self.names.append(f"{scope}.{key}")
                    self._collect(value, values)
            else:
                self.names.append(str(scope))
                self._collect(entries, values)
        experiment = experiment if isinstance(experiment, Mapping) else {}
        self._collect(experiment.get("secrets"), values, declared=True)
        declared = experiment.get("configuration")
        declared = declared if isinstance(declared, Mapping) else {}
        used = configuration if isinstance(configuration, Mapping) else {}
        self.secret_config = {str(k) for k in {*declared, *used} if is_secret_entry(k, declared.get(k))}
        for key in self.secret_config:  # text only: a "token_ttl_s: 3600" must not mask every 3600 in the journal
            self._collect(used.get(key), values, text_only=True)
            self._collect(declared.get(key), values, declared=True, text_only=True)
        values.update(str(v) for v in extra)  # e.g. the tracing exporter's header values (tokens)
        literal = sorted((v for v in values if len(v) >= MIN_SECRET_LEN), key=len, reverse=True)
        # ... and the userinfo of any URL (a toxiproxy_url with credentials), declared a secret or not
        self._re = re.compile("|".join([*map(re.escape, literal), URL_USERINFO.pattern]))

    def _collect(self, value: Any, into: set[str], declared: bool = False, text_only: bool = False,
                 depth: int = 0) -> None:
        if depth > 64:
            return
        if isinstance(value, Mapping):
            reference = declared and value.get("type") in ("env", "vault")
            for k, v in value.items():
                if not (reference and k in _REFERENCE_FIELDS):
                    self._collect(v, into, declared, text_only, depth + 1)
        elif isinstance(value, (list, tuple)):
            for v in value:
                self._collect(v, into, declared, text_only, depth + 1)
        elif value is not None and not isinstance(value, bool) and (isinstance(value, str) or not text_only):
            into.add(str(value))

    def __bool__(self) -> bool:
        return self._re is not None

    def apply(self, value: Any) -> Any:
        """A copy of value (JSON-like) with every secret replaced by the mask."""
        if self._re is None:
            return value
        if isinstance(value, str):
            return URL_CREDENTIAL_PARAM.sub(r"\1=" + MASK, self._re.sub(MASK, value))
        if isinstance(value, Mapping):
            return {self.apply(k) if isinstance(k, str) else k: self.apply(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.apply(v) for v in value]
        return value


class MaskingFilter(logging.Filter):
    """Masks a run's secrets in each log record a handler writes (chaostoolkit.log, the console), traceback included."""

    def __init__(self, mask: SecretMask) -> None:
        super().__init__()
        self.mask = mask

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message and traceback text with the secrets masked; never drop it."""
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 -- a broken format string: the handler reports it as it always would
            return True
        masked = self.mask.apply(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask.apply(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask.apply(record.stack_info)
        return True


def mask_logs(mask: SecretMask) -> Callable[[], None]:
    """Mask the run's secrets in everything Chaos Toolkit's and the root logger's handlers write; returns the undo.

    Chaos Toolkit logs what each activity returned and raised (at debug level, into
    chaostoolkit.log): a careless activity that returns a token would put it there.
    """
    masking = MaskingFilter(mask)
    handlers = [*logging.getLogger("chaostoolkit").handlers, *logging.getLogger().handlers]
    for handler in handlers:
        handler.addFilter(masking)

    def undo() -> None:
        for handler in handlers:
            handler.removeFilter(masking)

    return undo


def configuration_used(configuration: Mapping[str, Any] | None, mask: SecretMask) -> dict[str, Any]:
    """The configuration the run used (env entries resolved), each secret-looking entry masked: what reports show."""
    return {str(k): MASK if str(k) in mask.secret_config else mask.apply(v) for k, v in (configuration or {}).items()}


def mark_journal(journal: dict[str, Any], verdict: str) -> None:
    """Make `chaos run` exit non-zero for anything but a pass (it exits 1 when deviated or status != completed)."""
    if verdict == "aborted":
        journal["status"] = "aborted"
    elif verdict == "inconclusive":
        if journal.get("status") in (None, "completed"):
            journal["status"] = "failed"
    elif verdict == "failed":
        journal["deviated"] = True


def set_extension(journal: dict[str, Any], extension: dict[str, Any]) -> None:
    """Put the squall entry into journal["extensions"], replacing an older one."""
    entries = [e for e in (journal.get("extensions") or []) if not (isinstance(e, Mapping) and e.get("name") == "squall")]
    entries.append(extension)
    journal["extensions"] = entries


def slug(title: str) -> str:
    """A file-system friendly slug of an experiment title."""
    text = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return text[:60] or "experiment"


def report_dir(argument: str | None, title: str, started: float) -> Path:
    """Where the report goes: control argument, else $SQUALL_REPORT_DIR, else reports/<slug>-<UTC time>/."""
    if argument:
        return Path(argument).expanduser()
    env = os.environ.get(REPORT_DIR_ENV)
    if env:
        return Path(env).expanduser()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started))
    return Path("reports") / f"{slug(title)}-{stamp}"


def render_report(journal: dict[str, Any], out_dir: Path) -> dict[str, Any] | None:
    """Render the run's reports with squall.reporting; a missing or failing renderer only logs a warning."""
    try:
        from squall.reporting import render
    except Exception as exc:  # noqa: BLE001 -- missing or broken renderer: the verdict must not depend on it
        logger.warning("squall: report not rendered (squall.reporting unavailable: %s)", exc)
        return None
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = render(journal, out_dir)
    except Exception as exc:  # noqa: BLE001 -- a report bug never fails the run; the journal still holds everything
        logger.warning("squall: report not rendered into %s: %s", out_dir, exc)
        return None
    logger.info("squall: report written to %s", out_dir)
    return dict(paths or {})
