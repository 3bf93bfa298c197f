"""Errors of the admin API, as a table: Toxiproxy's message text first, then the bad value and what was expected."""

from squall.errors import SquallError


class ApiError(SquallError):
    """An admin API request failed; carries the HTTP status the API answers with."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


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
        f'stream was invalid, can be either upstream or downstream (got "{value}")', 400
    )
