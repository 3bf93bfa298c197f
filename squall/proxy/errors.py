"""Errors of the admin API, as a table: Toxiproxy's message text first, then the bad value and what was expected."""

import json

from squall.errors import SquallError


class ApiError(SquallError):
    """An admin API request failed; carries the HTTP status the API answers with."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class RemoteBindRefused(SquallError):
    """The admin API was asked to bind a non-loopback address without ``allow_remote``."""


def proxy_not_found(name: str) -> ApiError:
    """404 for a proxy name that does not exist."""
    return ApiError(f'proxy not found: "{name}"', 404)


def proxy_exists(name: str) -> ApiError:
    """409 for a proxy name that is taken."""
    return ApiError(f'proxy already exists: "{name}" (delete it first or choose another name)', 409)


def toxic_not_found(name: str, proxy: str) -> ApiError:
    """404 for a toxic name that does not exist on a proxy."""
    return ApiError(f'toxic not found: "{name}" on proxy "{proxy}"', 404)


def toxic_exists(name: str) -> ApiError:
    """409 for a toxic name that is taken on a proxy."""
    return ApiError(f'toxic already exists: "{name}" (names are unique per proxy, both streams)', 409)


def missing_field(field: str, where: str = "") -> ApiError:
    """400 for a required field that is absent or empty."""
    return ApiError(f"missing required field: {field}{where}", 400)


def bad_stream(value: object) -> ApiError:
    """400 for a stream that is neither upstream nor downstream."""
    return ApiError(
        f"stream was invalid, can be either upstream or downstream (got {shown(value)})", 400
    )


def shown(value: object, limit: int = 60) -> str:
    """A JSON value as an error message shows it: JSON text, cut to ``limit`` characters."""
    try:
        text = json.dumps(value, allow_nan=False)
    except (ValueError, TypeError, RecursionError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def bad_number(what: str, value: object, expected: str, note: str = "") -> ApiError:
    """400 for a number that is out of range: names the attribute, the value and what was expected."""
    return ApiError(f"bad request body: {what} is {shown(value)} (expected {expected}){note}", 400)


def forbidden_host(host: str) -> ApiError:
    """403 for a Host header that is neither loopback nor the address the API is bound to (DNS rebinding)."""
    return ApiError(
        f"Host not allowed: {shown(host)} (the admin API answers only loopback names and addresses "
        "such as 127.0.0.1, ::1 and localhost, or the address it is bound to)",
        403,
    )


def forbidden_origin(origin: str) -> ApiError:
    """403 for a cross-origin request (an ``Origin`` that is not loopback): a web page cannot drive the proxy."""
    return ApiError(
        f"Origin not allowed: {shown(origin)} (cross-origin requests are refused; "
        "expected no Origin or a loopback one such as http://localhost:3000)",
        403,
    )


def browser_refused(agent: str) -> ApiError:
    """403 for a browser user agent, as Toxiproxy (same message prefix)."""
    return ApiError(f"User agent not allowed: {shown(agent)} (browsers may not drive the admin API)", 403)


def route_not_found(method: str, path: str) -> ApiError:
    """404 for a path no route matches (Toxiproxy's text first)."""
    return ApiError(
        f"404 page not found: {method} {shown(path)} (expected /version, /reset, /populate, "
        "/proxies, /proxies/{name}, /proxies/{name}/toxics[/{toxic}] or /proxies/{name}/stats)",
        404,
    )


def method_not_allowed(method: str, path: str, allowed: str) -> ApiError:
    """405 for a method a route does not take."""
    return ApiError(f"method not allowed: {method} {shown(path)} (expected one of: {allowed})", 405)


def from_http_status(status: int, detail: str, limit: int | None = None) -> ApiError:
    """aiohttp's own refusals (body or head too large, unparsable request) as API errors, in one place."""
    limits = f"; at most {limit} bytes" if limit is not None else ""
    messages = {
        413: f"request body too large: {detail} (expected a JSON body{limits})",
        414: f"request line too long: {detail} (expected a shorter path{limits}; names are short)",
        431: f"request header too large: {detail} (expected smaller headers{limits})",
    }
    return ApiError(messages.get(status, f"bad HTTP request: {detail} (expected HTTP/1.1)"), status)
