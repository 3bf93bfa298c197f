"""Every proxy of one server, and the operations of the admin API on them (validation included).

All methods run on the server's event loop. Check order and defaults follow
Toxiproxy (see docs/proxy.md); every error is an ``ApiError`` that names the
bad value and what was expected.
"""

import asyncio
from typing import Any

from squall.proxy.errors import (
    ApiError,
    bad_stream,
    missing_field,
    proxy_exists,
    proxy_not_found,
    shown,
    toxic_exists,
)
from squall.proxy.jsonbody import json_type
from squall.proxy.proxy import Proxy
from squall.proxy.spec import ToxicSpec, build_attributes, check_toxicity, toxic_class
from squall.proxy.toxics import HttpToxic

MAX_NAME = 256


def _field(body: dict[str, Any], key: str, kind: type, what: str) -> Any:
    value = body.get(key)
    if value is None:
        return None
    ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
    if kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok:
        raise ApiError(
            f'bad request body: field "{key}" of {what} must be '
            f"{ {str: 'a string', bool: 'true or false', float: 'a number'}[kind] }, "
            f"got {json_type(value)} {shown(value)}",
            400,
        )
    if key == "name" and len(value) > MAX_NAME:  # a longer one could not be addressed in a URL (8190 bytes)
        raise ApiError(
            f"bad request body: name of {what} is {len(value)} characters long (expected at most {MAX_NAME}, "
            f"so that /proxies/{{name}}/toxics/{{name}} fits in a URL): {shown(value)}",
            400,
        )
    return value


def _object(body: object, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(f"bad request body: expected a JSON object ({what}), got {json_type(body)}", 400)
    return body


class ProxyCollection:
    """Proxies by name.

    Lifecycle changes (create, update, delete, populate, reset, close) await
    binding and closing listeners, so they hold ``_lock``: one at a time, each
    seeing the state the previous one left (a PATCH racing a DELETE cannot
    restart a listener on a proxy that is no longer in the collection).
    """

    def __init__(self, backlog: int | None = None) -> None:
        self.backlog = backlog  # of every proxy's listener (None: the system's somaxconn)
        self.proxies: dict[str, Proxy] = {}
        self._lock = asyncio.Lock()
        self._closing = False

    def get(self, name: str) -> Proxy:
        """The proxy called ``name`` or a 404."""
        proxy = self.proxies.get(name)
        if proxy is None:
            raise proxy_not_found(name)
        return proxy

    def to_json(self) -> dict[str, Any]:
        """Every proxy keyed by name (sorted, like Go's JSON maps)."""
        return {name: self.proxies[name].to_json() for name in sorted(self.proxies)}

    # -- proxies ----------------------------------------------------------------
    def _open(self) -> None:
        if self._closing:
            raise ApiError("proxy server is shutting down (expected no changes during shutdown)", 503)

    async def create(self, body: object, where: str = "") -> Proxy:
        """POST /proxies: validate, bind (unless disabled), add."""
        async with self._lock:
            return await self._create(body, where)

    async def _create(self, body: object, where: str = "") -> Proxy:
        self._open()
        body = _object(body, "a proxy")
        name = _field(body, "name", str, "proxy")
        listen = _field(body, "listen", str, "proxy") or ""
        upstream = _field(body, "upstream", str, "proxy")
        enabled = _field(body, "enabled", bool, "proxy")
        if not name:
            raise missing_field("name", where)
        if not upstream:
            raise missing_field("upstream", where)
        if name in self.proxies:
            raise proxy_exists(name)
        proxy = Proxy(name, listen, upstream, self.backlog)
        if enabled is None or enabled:
            await proxy.start()
        self.proxies[name] = proxy
        return proxy

    async def update(self, name: str, body: object) -> Proxy:
        """PATCH (or POST) /proxies/{name}: change listen, upstream and/or enabled."""
        async with self._lock:
            return await self._update(name, body)

    async def _update(self, name: str, body: object) -> Proxy:
        self._open()
        proxy = self.get(name)
        body = _object(body, "a proxy update")
        listen = _field(body, "listen", str, "proxy")
        upstream = _field(body, "upstream", str, "proxy")
        enabled = _field(body, "enabled", bool, "proxy")
        want_enabled = proxy.enabled if enabled is None else enabled
        moved = (listen is not None and listen != proxy.listen) or (
            upstream is not None and upstream != proxy.upstream
        )
        if moved or not want_enabled:
            await proxy.stop()
        if listen is not None:
            proxy.listen = listen
        if upstream is not None:
            proxy.upstream = upstream
        if want_enabled:
            await proxy.start()  # on failure the proxy stays stopped with the new listen (as Toxiproxy)
        return proxy

    async def delete(self, name: str) -> None:
        """DELETE /proxies/{name}: stop it and forget it."""
        async with self._lock:
            await self._delete(name)

    async def _delete(self, name: str) -> None:
        proxy = self.get(name)
        del self.proxies[name]
        await proxy.stop()

    async def populate(self, body: object) -> tuple[list[Proxy], ApiError | None]:
        """POST /populate: create or replace in bulk; return what was done and the first error."""
        async with self._lock:
            return await self._populate(body)

    async def _populate(self, body: object) -> tuple[list[Proxy], ApiError | None]:
        self._open()
        if not isinstance(body, list):
            raise ApiError(
                f"bad request body: expected a JSON array of proxies, got {json_type(body)}", 400
            )
        for i, entry in enumerate(body, start=1):
            entry = _object(entry, f"proxy {i}")
            where = f" at proxy {i}"
            if not _field(entry, "name", str, f"proxy {i}"):
                raise missing_field("name", where)
            if not _field(entry, "upstream", str, f"proxy {i}"):
                raise missing_field("upstream", where)
            _field(entry, "listen", str, f"proxy {i}")
            _field(entry, "enabled", bool, f"proxy {i}")
        done: list[Proxy] = []
        for entry in body:
            existing = self.proxies.get(entry["name"])
            if existing is not None:
                if existing.listen == entry.get("listen", "") and existing.upstream == entry["upstream"]:
                    done.append(existing)  # unchanged: kept as is, toxics and all
                    continue
                await self._delete(existing.name)
            try:
                done.append(await self._create(entry))
            except ApiError as exc:
                return done, exc
        return done, None

    async def reset(self) -> None:
        """POST /reset: enable every proxy and remove every toxic."""
        async with self._lock:
            self._open()
            for proxy in list(self.proxies.values()):
                proxy.clear_toxics()
                await proxy.start()

    async def close(self) -> None:
        """Stop every proxy (server shutdown); later lifecycle changes are refused."""
        self._closing = True
        async with self._lock:
            for proxy in list(self.proxies.values()):
                await proxy.stop()

    # -- toxics -----------------------------------------------------------------
    def add_toxic(self, proxy_name: str, body: object) -> ToxicSpec:
        """POST /proxies/{name}/toxics, checks in Toxiproxy's order."""
        proxy = self.get(proxy_name)
        body = _object(body, "a toxic")
        stream = _field(body, "stream", str, "toxic") or "downstream"
        if stream.lower() not in ("upstream", "downstream"):
            raise bad_stream(stream)
        type_name = body.get("type")
        name = _field(body, "name", str, "toxic") or f"{type_name if isinstance(type_name, str) else ''}_{stream}"
        cls = toxic_class(type_name)
        if any(t.name == name for t in proxy.toxics):
            raise toxic_exists(name)
        toxicity = _field(body, "toxicity", float, "toxic")
        attrs = build_attributes(cls, body.get("attributes"))
        spec = ToxicSpec(
            name=name,
            stream=stream,
            upstream=stream.lower() == "upstream",
            toxicity=check_toxicity(toxicity, default=1.0),
            toxic=cls(attrs),
        )
        proxy.add_toxic(spec)
        if isinstance(spec.toxic, HttpToxic):
            proxy.stats.toxic(spec)  # counted from zero from now on: /stats lists it before any request
        return spec

    def update_toxic(self, proxy_name: str, toxic_name: str, body: object) -> ToxicSpec:
        """PATCH (or POST) a toxic: only ``attributes`` (merged) and ``toxicity`` change."""
        proxy = self.get(proxy_name)
        old = proxy.find_toxic(toxic_name)
        body = _object(body, "a toxic update")
        toxicity = _field(body, "toxicity", float, "toxic")
        cls = type(old.toxic)
        attrs = build_attributes(cls, body.get("attributes"), current=old.toxic.attrs)
        new = ToxicSpec(
            name=old.name,
            stream=old.stream,
            upstream=old.upstream,
            toxicity=check_toxicity(toxicity, default=old.toxicity),
            toxic=cls(attrs),
            version=old.version + 1,
        )
        proxy.replace_toxic(old, new)
        if isinstance(new.toxic, HttpToxic):
            proxy.stats.toxic(new)  # the same counts if the scope is unchanged, else new ones
        return new

    def remove_toxic(self, proxy_name: str, toxic_name: str) -> None:
        """DELETE a toxic."""
        self.get(proxy_name).remove_toxic(toxic_name)
