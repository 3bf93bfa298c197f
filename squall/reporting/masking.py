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
  e-mail addresses, common API-key shapes, plus any the user configures
  (configuration ``squall_mask_patterns`` or ``squall report --mask``).
"""

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MASK = "[masked]"

#: configuration / argument key names whose values are always masked
SECRET_KEY_RE = re.compile(
    r"(?i)(pass(word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|"
    r"private[_-]?key|credential|auth(orization)?|cookie|session[_-]?id|client[_-]?secret)"
)

#: (name, pattern, replacement, hints): a rule runs only on text holding one of its (lower-case) hints,
#: which keeps masking a 10,000-activity journal fast; replacement may use groups
DEFAULT_PATTERNS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("url-password", r"\b([a-zA-Z][a-zA-Z0-9+.\-]*://)([^/\s:@]+):([^/\s@]+)@", r"\1\2:" + MASK + "@", ("@",)),
    ("bearer", r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9\-._~+/]{8,}=*", r"\1\2" + MASK, ("bearer", "basic")),
    (
        "key-value",
        (
            r"(?i)\b([A-Za-z0-9_\-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key))"
            r"(\\?[\"']?\s*[=:]\s*\\?[\"']?)(?!\[masked\])([^\s&\"',;}\\]+)"
        ),
        r"\1\2" + MASK,
        ("pass", "pwd", "secret", "token", "key"),
    ),
    ("jwt", r"\beyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}", MASK, ("eyj",)),
    (
        "api-key",
        (
            r"\b(?:AKIA[0-9A-Z]{16}|sk-[A-Za-z0-9_\-]{20,}|gh[pousr]_[A-Za-z0-9]{30,}|"
            r"xox[abprs]-[A-Za-z0-9\-]{10,}|AIza[0-9A-Za-z_\-]{35})\b"
        ),
        MASK,
        ("akia", "sk-", "gh", "xox", "aiza"),
    ),
    ("email", r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b", MASK, ("@",)),
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

    def __post_init__(self) -> None:
        self._rules: list[tuple[re.Pattern[str], str, tuple[str, ...]]] = [
            (re.compile(p), r, hints) for _, p, r, hints in DEFAULT_PATTERNS
        ]
        for pattern in self.patterns:
            self._rules.append((re.compile(pattern), MASK, ()))
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
        for regex, repl, hints in self._rules:
            for hint in hints:
                if hint in lowered:
                    break
            else:
                if hints:
                    continue  # no hint of this rule in the text: its regex cannot match
            masked = regex.sub(repl, masked)
        if short and len(self._cache) < CACHE_SIZE:
            self._cache[value] = masked
        return masked

    def value(self, obj: Any, key: object = None, text: bool = True) -> Any:
        """A copy of a JSON-like value with values under secret keys masked (and strings, if ``text``)."""
        if key is not None and obj not in (None, "", [], {}) and self.is_secret_key(key):
            if isinstance(obj, Mapping) and obj.get("type") in ("env", "vault"):
                return {k: self.value(v, None, text) for k, v in obj.items()}  # a reference, not the secret
            return MASK
        if isinstance(obj, str):
            return self.text(obj) if text else obj
        if isinstance(obj, Mapping):
            return {str(k): self.value(v, k, text) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [self.value(v, None, text) for v in obj]
        return obj


def _secret_leaves(obj: Any, key: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(obj, Mapping):
        if obj.get("type") in ("env", "vault") and "key" in obj:
            yield key, obj
            return
        for k, v in obj.items():
            yield from _secret_leaves(v, str(k))
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _secret_leaves(v, key)
    elif obj is not None:
        yield key, obj


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
            if isinstance(leaf, Mapping):  # env/vault reference: mask the live value if we can see it
                if leaf.get("type") == "env":
                    live = os.environ.get(str(leaf.get("key")))
                    if live:
                        values.add(live)
            else:
                values.add(str(leaf))
    configuration = experiment.get("configuration")
    patterns = [p for p in extra_patterns if p]
    if isinstance(configuration, Mapping):
        for name, value in configuration.items():
            if SECRET_KEY_RE.search(str(name)):
                keys.add(str(name))
                if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                    values.add(str(value))
                elif isinstance(value, Mapping) and value.get("type") == "env":
                    live = os.environ.get(str(value.get("key")))
                    if live:
                        values.add(live)
        configured = configuration.get("squall_mask_patterns")
        if isinstance(configured, str):
            configured = [configured]
        if isinstance(configured, list):
            patterns.extend(str(p) for p in configured if p)
    valid = []
    for p in patterns:
        try:
            re.compile(p)
        except re.error:
            continue  # a bad user pattern must not stop the report; it is listed in the notes
        valid.append(p)
    return Masker(values=values, key_names=keys, patterns=valid)


def invalid_patterns(patterns: Iterable[str]) -> list[str]:
    """The patterns that are not valid regular expressions (for a clear error)."""
    bad = []
    for p in patterns:
        try:
            re.compile(p)
        except re.error as exc:
            bad.append(f'"{p}" ({exc})')
    return bad
