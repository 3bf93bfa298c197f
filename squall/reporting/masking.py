"""Masking of secrets in everything a report shows.

Three sources, applied to every string that reaches an artifact:

- values Chaos Toolkit declared as secrets (the experiment's ``secrets``
  section), wherever they appear; ``env``/``vault`` references cannot be
  resolved after the run, so their *key names* are masked too (a key named
  like a secret never shows its value), and an env secret whose variable is
  set at report time is masked by value as well;
- configuration keys that look like secrets (``password``, ``token``, ...) and
  the keys the control listed in ``secrets_masked``;
- regex patterns: bearer tokens, ``password=...``, passwords in URLs,
  credential query parameters (``?access_token=...``, see
  ``squall.config.CREDENTIAL_QUERY_PARAMS``), e-mail addresses, common API-key
  shapes, plus any the user configures (configuration ``squall_mask_patterns``
  or ``squall report --mask``).

The built-in patterns run in linear time (each starts only where a match can
begin). A user's pattern may not: it is compiled once with the ``regex``
module and run with a time budget; a text it could not check in time is
masked wholesale (never shown unmasked) and the pattern is named once in
``Masker.slow``.
"""

import json
import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import regex

from squall.config import URL_CREDENTIAL_PARAM

MASK = "[masked]"
MAX_DEPTH = 64  # a value nested deeper is shown as TOO_DEEP (never unmasked, never a RecursionError)
TOO_DEEP = f"[nested deeper than {MAX_DEPTH} levels]"
PATTERN_TIMEOUT_S = 0.25  # one user pattern on one text
PATTERN_BUDGET_S = 5.0  # one user pattern on all the texts of one report; then every text left is masked

#: configuration / argument key names whose values are always masked
SECRET_KEY_RE = re.compile(
    r"(?i)(pass(word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|"
    r"private[_-]?key|credential|auth(orization)?|cookie|session[_-]?id|client[_-]?secret)"
)

#: (name, pattern, replacement, hints): a rule runs only on text holding one of its (lower-case) hints,
#: which keeps masking a 10,000-activity journal fast; replacement may use groups. Each pattern starts
#: only where a match can begin (a lookbehind, not ``\b``, before a repeated class), so none backtracks
#: quadratically on a long run of look-alike characters (tests/reporting/test_report_robustness.py).
DEFAULT_PATTERNS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("url-password", r"(?<![a-zA-Z0-9+.\-])([a-zA-Z][a-zA-Z0-9+.\-]*://)([^/\s:@]+):([^/\s@]+)@",
     r"\1\2:" + MASK + "@", ("@",)),
    ("url-credential-param", URL_CREDENTIAL_PARAM.pattern, r"\1=" + MASK, ("=",)),
    ("bearer", r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9\-._~+/]{8,}=*", r"\1\2" + MASK, ("bearer", "basic")),
    (
        "key-value",
        (
            r"(?i)((?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key))"
            r"(\\?[\"']?\s*[=:]\s*\\?[\"']?)(?!\[masked\])([^\s&\"',;}\\]+)"
        ),
        r"\1\2" + MASK,
        ("pass", "pwd", "secret", "token", "key"),
    ),
    ("jwt", r"(?<![A-Za-z0-9_\-])eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}", MASK, ("eyj",)),
    (
        "api-key",
        (
            r"(?<![A-Za-z0-9_\-])(?:AKIA[0-9A-Z]{16}|sk-[A-Za-z0-9_\-]{20,}|gh[pousr]_[A-Za-z0-9]{30,}|"
            r"xox[abprs]-[A-Za-z0-9\-]{10,}|AIza[0-9A-Za-z_\-]{35})\b"
        ),
        MASK,
        ("akia", "sk-", "gh", "xox", "aiza"),
    ),
    ("email", r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b", MASK, ("@",)),
)

MIN_SECRET_LEN = 3  # shorter literal "secrets" would mask random letters everywhere
CACHE_MAX_LEN = 256  # short strings (names, targets, statuses) repeat: remember their masked form
CACHE_SIZE = 100_000


@dataclass
class Masker:
    """Masks secret values, secret-looking keys and configured patterns in report text."""

    values: set[str] = field(default_factory=set)
    key_names: set[str] = field(default_factory=set)
    patterns: list[str] = field(default_factory=list)
    #: user patterns that ran out of time, with what that did (filled while masking; reported once each)
    slow: dict[str, str] = field(default_factory=dict)
    pattern_timeout_s: float = PATTERN_TIMEOUT_S
    pattern_budget_s: float = PATTERN_BUDGET_S

    def __post_init__(self) -> None:
        self._rules: list[tuple[re.Pattern[str], str, tuple[str, ...]]] = [
            (re.compile(p), r, hints) for _, p, r, hints in DEFAULT_PATTERNS
        ]
        self._user: list[tuple[str, Any]] = [(p, regex.compile(p)) for p in self.patterns]  # compiled once
        self._spent: dict[str, float] = dict.fromkeys(self.patterns, 0.0)
        literal = {v for v in self.values if len(v) >= MIN_SECRET_LEN}
        literal |= {json.dumps(v)[1:-1] for v in literal}  # as it appears inside JSON text
        ordered = sorted(literal, key=len, reverse=True)
        self._literal = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._keys = {k.lower() for k in self.key_names}
        self._cache: dict[str, str] = {}
        self._key_cache: dict[str, bool] = {}
        self.memo: dict[Any, Any] = {}  # for callers: results computed with this masker's rules

    def is_secret_key(self, key: object) -> bool:
        """Whether a mapping key names a secret (declared or by its look)."""
        text = str(key)
        known = self._key_cache.get(text)
        if known is None:
            known = text.lower() in self._keys or bool(SECRET_KEY_RE.search(text))
            if len(self._key_cache) < CACHE_SIZE:
                self._key_cache[text] = known
        return known

    def text(self, value: str) -> str:
        """The string with every secret value and pattern match replaced by the mask."""
        if not value:
            return value
        short = len(value) <= CACHE_MAX_LEN
        if short:
            cached = self._cache.get(value)
            if cached is not None:
                return cached
        masked = value
        if self._literal is not None:
            masked = self._literal.sub(MASK, masked)
        lowered = masked.lower()
        for rule, repl, hints in self._rules:
            for hint in hints:
                if hint in lowered:
                    break
            else:
                if hints:
                    continue  # no hint of this rule in the text: its regex cannot match
            masked = rule.sub(repl, masked)
        for source, compiled in self._user:
            masked = self._user_pattern(source, compiled, masked)
        if short and len(self._cache) < CACHE_SIZE:
            self._cache[value] = masked
        return masked

    def _user_pattern(self, source: str, compiled: Any, text: str) -> str:
        """One user pattern on one text, within its budget; the whole text masked when it runs out (fail closed)."""
        left = self.pattern_budget_s - self._spent[source]
        if left > 0:
            started = time.perf_counter()
            try:
                return str(compiled.sub(MASK, text, timeout=min(self.pattern_timeout_s, left)))
            except TimeoutError:
                pass
            finally:
                self._spent[source] += time.perf_counter() - started
        self.slow.setdefault(source, (
            f'mask pattern "{source}" is too slow (over {self.pattern_timeout_s:g} s on one text or '
            f"{self.pattern_budget_s:g} s "
            "in all): every text it could not check in time is shown as [masked]; simplify it (nested repeats "
            "such as (\\w+\\s?)* backtrack without end)"))
        return MASK

    def value(self, obj: Any, key: object = None, text: bool = True, depth: int = 0) -> Any:
        """A copy of a JSON-like value with values under secret keys masked (and strings, if ``text``)."""
        if key is not None and obj not in (None, "", [], {}) and self.is_secret_key(key):
            if isinstance(obj, Mapping) and obj.get("type") in ("env", "vault"):
                return {str(k): MASK if k == "default" else self.value(v, None, text, depth + 1)
                        for k, v in obj.items()}  # a reference to the secret; its default is one
            return MASK
        if isinstance(obj, str):
            return self.text(obj) if text else obj
        if isinstance(obj, (Mapping, list, tuple)) and depth >= MAX_DEPTH:
            return TOO_DEEP
        if isinstance(obj, Mapping):
            return {str(k): self.value(v, k, text, depth + 1) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [self.value(v, None, text, depth + 1) for v in obj]
        return obj


def _secret_leaves(obj: Any, key: str = "", depth: int = 0) -> Iterable[tuple[str, Any]]:
    if depth > MAX_DEPTH:
        return
    if isinstance(obj, Mapping):
        if obj.get("type") in ("env", "vault") and "key" in obj:
            yield key, obj
            return
        for k, v in obj.items():
            yield from _secret_leaves(v, str(k), depth + 1)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _secret_leaves(v, key, depth + 1)
    elif obj is not None:
        yield key, obj


def _env_values(reference: Mapping[str, Any]) -> list[str]:
    """What an env reference may have resolved to: the variable's value now, and its declared default."""
    out = []
    live = os.environ.get(str(reference.get("key")))
    if live:
        out.append(live)
    default = reference.get("default")
    if isinstance(default, (str, int, float)) and not isinstance(default, bool) and str(default):
        out.append(str(default))
    return out


def is_secret_entry(name: object, value: Any) -> bool:
    """Whether a configuration entry holds a secret: its key, or the variable an env entry reads, looks like one."""
    if SECRET_KEY_RE.search(str(name)):
        return True
    return isinstance(value, Mapping) and value.get("type") == "env" and bool(SECRET_KEY_RE.search(str(value.get("key"))))


def from_experiment(
    experiment: Mapping[str, Any] | None,
    extra_keys: Iterable[str] = (),
    extra_patterns: Iterable[str] = (),
) -> Masker:
    """A masker for one run: its declared secrets, secret-looking config keys and patterns."""
    experiment = experiment if isinstance(experiment, Mapping) else {}
    values: set[str] = set()
    keys: set[str] = {str(k) for k in extra_keys if k}
    secrets = experiment.get("secrets")
    if isinstance(secrets, Mapping):
        for scope in secrets.values():
            if isinstance(scope, Mapping):
                keys.update(str(k) for k in scope)
        for name, leaf in _secret_leaves(secrets):
            keys.add(name)
            if isinstance(leaf, Mapping):  # env/vault reference: mask its live value and its default
                if leaf.get("type") == "env":
                    values.update(_env_values(leaf))
            else:
                values.add(str(leaf))
    configuration = experiment.get("configuration")
    patterns = [p for p in extra_patterns if p]
    if isinstance(configuration, Mapping):
        for name, value in configuration.items():
            if is_secret_entry(name, value):
                keys.add(str(name))
                if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                    values.add(str(value))
                elif isinstance(value, Mapping) and value.get("type") == "env":
                    values.update(_env_values(value))
        configured = configuration.get("squall_mask_patterns")
        if isinstance(configured, str):
            configured = [configured]
        if isinstance(configured, list):
            patterns.extend(str(p) for p in configured if p)
    valid = [p for p in dict.fromkeys(patterns) if _pattern_error(p) is None]  # a bad one must not stop a report
    return Masker(values=values, key_names=keys, patterns=valid)


def _pattern_error(pattern: str) -> str | None:
    """Why a user pattern cannot be used (Python's message first, then the ``regex`` module's), or None."""
    try:
        re.compile(pattern)
        regex.compile(pattern)
    except (re.error, regex.error) as exc:
        return str(exc)
    except (RecursionError, OverflowError, ValueError) as exc:
        return f"cannot be compiled: {exc}"
    return None


def invalid_patterns(patterns: Iterable[str]) -> list[str]:
    """The patterns that are not valid regular expressions (for a clear error)."""
    return [f'"{p}" ({error})' for p in patterns if (error := _pattern_error(p)) is not None]
