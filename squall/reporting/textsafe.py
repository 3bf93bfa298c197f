"""Text every report artifact can carry: no lone surrogates, no code points XML 1.0 forbids.

A journal may hold anything JSON can escape: ``"\\ud800"`` decodes to a lone
surrogate (which UTF-8 cannot encode), ``"\\u0000"`` or ``"\\ufffe"`` to code
points an XML parser refuses. Each becomes U+FFFD (the replacement character),
so a reader sees that something was there and every artifact stays well formed.
"""

import re

REPLACEMENT = "\ufffd"

#: C0 controls except tab, LF and CR; DEL; surrogates; U+FFFE and U+FFFF (not characters in XML 1.0)
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def safe_text(text: str) -> str:
    """The text with every lone surrogate and XML-illegal code point replaced by U+FFFD."""
    return _ILLEGAL.sub(REPLACEMENT, text)


_C0 = bytes(c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)) + b"\x7f"


def safe_utf8(text: str) -> bytes:
    """``safe_text(text)`` as UTF-8, checked on the bytes first: a 5 MB page without a bad code point costs no regex."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return safe_text(text).encode("utf-8")
    if len(data.translate(None, _C0)) != len(data) or b"\xef\xbf\xbe" in data or b"\xef\xbf\xbf" in data:
        return safe_text(text).encode("utf-8")
    return data
