"""The YAML half of ``squall.loader``: one document of plain values, built iteratively from the event stream.

No PyYAML composer (recursive) and no constructor beyond plain scalars: mappings,
lists, strings, numbers, booleans and null (dates stay text). Nesting, aliases,
tags and duplicate keys are checked as each event arrives; see ``squall.loader``
for the limits.
"""

import gc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from squall.errors import FileInvalid
from squall.loader import LINE_DEPTH, MAX_DEPTH, MAX_NODES, KeyPath, Loaded

__all__ = ["parse_yaml"]

_T = "tag:yaml.org,2002:"
_CONSTRUCT = SafeConstructor()
_RESOLVER = Resolver()
_SCALARS: dict[str, Callable[[str], Any]] = {
    _T + "str": str, _T + "timestamp": str, _T + "value": str,
    _T + "null": lambda v: None,
    _T + "bool": lambda v: SafeConstructor.bool_values[v.lower()],
    _T + "int": lambda v: _CONSTRUCT.construct_yaml_int(yaml.ScalarNode(_T + "int", v)),
    _T + "float": lambda v: _CONSTRUCT.construct_yaml_float(yaml.ScalarNode(_T + "float", v)),
}
_MAPS = {None, "!", _T + "map"}
_SEQS = {None, "!", _T + "seq"}
_MERGE_KEY = object()  # a "<<" key: its value is merged into the mapping at its end
_MISSING = object()
_CACHE_SIZE = 10_000


def _parser(text: str) -> Any:
    if getattr(yaml, "__with_libyaml__", False):
        return yaml.CSafeLoader(text)
    return yaml.SafeLoader(text)  # pragma: no cover - libyaml ships with PyYAML's wheels


def _refused(tag: str) -> str:
    short = "!!" + tag.removeprefix(_T) if tag.startswith(_T) else tag
    return (f'tag "{short}" is not allowed (expected plain values: mappings, lists, strings, numbers, booleans, '
            "null; no !!binary, !!set, !!python/... or custom tags)")


@dataclass(slots=True)
class _Frame:
    """A mapping or list being built, with what it holds so far (aliases expanded)."""

    value: Any
    path: KeyPath | None  # None below LINE_DEPTH: no lines kept there
    anchor: str | None
    key: Any = None
    has_key: bool = False
    size: int = 1
    height: int = 1
    merges: list[tuple[Any, int]] | None = None
    lined: bool = False  # keep the lines of what it holds (its path is short enough)


def _scalar(event: Any, cache: dict[str, Any], fail: Callable[[str, int], FileInvalid]) -> Any:
    """The plain value of a scalar event not found in `cache` (plain scalars are cached by their text)."""
    tag = event.tag
    try:
        if tag is None or tag == "!":
            if not event.implicit[0]:
                return event.value  # quoted: a string
            tag = _RESOLVER.resolve(yaml.ScalarNode, event.value, event.implicit)
            value = _MERGE_KEY if tag == _T + "merge" else _SCALARS[tag](event.value)
            if len(cache) < _CACHE_SIZE:
                cache[event.value] = value
            return value
        return _SCALARS[tag](event.value)
    except KeyError:
        raise fail(_refused(event.tag), event.start_mark.line + 1) from None
    except ValueError as exc:
        raise fail(f"{event.value!r} is not a valid {tag or 'value'} ({exc})", event.start_mark.line + 1) from exc


def _merge(frame: _Frame, fail: Callable[[str, int], FileInvalid]) -> None:
    for merged, line in frame.merges or ():
        for source in merged if isinstance(merged, list) else [merged]:
            if not isinstance(source, dict):
                raise fail("a merge key (<<) takes a mapping or a list of mappings", line)
            for k, v in source.items():
                frame.value.setdefault(k, v)


def parse_yaml(text: str, name: str) -> Loaded:  # noqa: C901 - one tight loop over the event stream, on purpose
    """Parse one YAML document of plain values within the limits; lines for key paths."""

    def fail(message: str, line: int) -> FileInvalid:
        return FileInvalid(name, message, line=line)

    parser = _parser(text)
    get_event = parser.get_event
    stack: list[_Frame] = []
    anchors: dict[str, tuple[Any, int, int] | None] = {}  # None while the anchored node is still open
    lines: dict[KeyPath, int] = {}
    cache: dict[str, Any] = {}
    cached = cache.get
    root: Any = None
    expanded = documents = 0
    scalar_event, alias_event, mapping_start, sequence_start = (
        yaml.ScalarEvent, yaml.AliasEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)
    mapping_end, sequence_end, document_start, stream_end = (
        yaml.MappingEndEvent, yaml.SequenceEndEvent, yaml.DocumentStartEvent, yaml.StreamEndEvent)
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of new containers would otherwise trigger full collections again and again
    try:
        while True:
            event = get_event()
            kind = type(event)
            if kind is scalar_event:
                value = cached(event.value, _MISSING) if event.tag is None and event.implicit[0] else _MISSING
                if value is _MISSING:
                    value = _scalar(event, cache, fail)
                if value is _MERGE_KEY and not (stack and type(stack[-1].value) is dict and not stack[-1].has_key):
                    value = "<<"  # a merge key only as a mapping key; elsewhere it is the text "<<"
                if event.anchor is not None:
                    anchors[event.anchor] = ("<<" if value is _MERGE_KEY else value, 1, 0)
                size, height = 1, 0
            elif kind is mapping_end or kind is sequence_end:
                frame = stack.pop()
                if frame.merges:
                    _merge(frame, fail)
                if frame.anchor is not None:
                    anchors[frame.anchor] = (frame.value, frame.size, frame.height)
                value, size, height = frame.value, frame.size, frame.height
            elif kind is alias_event:
                found = anchors.get(event.anchor, _MISSING)
                if found is _MISSING:
                    raise fail(f'alias "*{event.anchor}" names no anchor defined before it', event.start_mark.line + 1)
                if found is None:
                    raise fail(f'alias "*{event.anchor}" refers to a node that contains it (expected no recursive '
                               "aliases)", event.start_mark.line + 1)
                value, size, height = found  # type: ignore[misc]
                expanded += size - 1
                if expanded > MAX_NODES:
                    raise fail(f"aliases expand to more than {MAX_NODES:,} extra values (expected a plain document, "
                               "not an alias bomb)", event.start_mark.line + 1)
                if len(stack) + height > MAX_DEPTH:
                    raise fail(f"an alias nests deeper than {MAX_DEPTH} levels (expected at most {MAX_DEPTH})",
                               event.start_mark.line + 1)
            elif kind is mapping_start or kind is sequence_start:
                if event.tag not in (_MAPS if kind is mapping_start else _SEQS):
                    raise fail(_refused(event.tag), event.start_mark.line + 1)
                if len(stack) >= MAX_DEPTH:
                    raise fail(f"nesting deeper than {MAX_DEPTH} levels (expected at most {MAX_DEPTH})",
                               event.start_mark.line + 1)
                path: KeyPath | None = ()
                if stack:
                    top = stack[-1]
                    if top.lined:
                        if type(top.value) is list:
                            path = top.path + (len(top.value),)  # type: ignore[operator]
                        elif top.has_key:
                            path = top.path + (_key_text(top.key),)  # type: ignore[operator]
                        else:
                            path = None  # a complex key: refused when it ends
                        if path is not None:
                            lines[path] = event.start_mark.line + 1
                    else:
                        path = None
                else:
                    lines[()] = event.start_mark.line + 1
                if event.anchor is not None:
                    anchors[event.anchor] = None
                stack.append(_Frame({} if kind is mapping_start else [], path, event.anchor,
                                    lined=path is not None and len(path) < LINE_DEPTH))
                continue
            elif kind is stream_end or event is None:
                break
            else:
                if kind is document_start:
                    documents += 1
                    if documents > 1:
                        raise fail("a second YAML document (expected one document per file)", event.start_mark.line + 1)
                continue
            # attach the finished value to the open container, or make it the document
            if not stack:
                root = value
                continue
            top = stack[-1]
            top.size += size
            if height >= top.height:
                top.height = height + 1
            container = top.value
            if type(container) is list:
                if top.lined and kind is not mapping_end and kind is not sequence_end:
                    lines[top.path + (len(container),)] = event.start_mark.line + 1  # type: ignore[operator]
                container.append(value)
            elif not top.has_key:
                if type(value) is dict or type(value) is list:
                    raise fail("a mapping key is a mapping or list (expected a plain key)", event.start_mark.line + 1)
                top.key, top.has_key = value, True
            else:
                key = top.key
                if top.lined and kind is not mapping_end and kind is not sequence_end:
                    lines[top.path + (key if type(key) is str else _key_text(key),)] = (  # type: ignore[operator]
                        event.start_mark.line + 1)
                if key is _MERGE_KEY:
                    if top.merges is None:
                        top.merges = []
                    top.merges.append((value, event.start_mark.line + 1))
                elif key in container:
                    raise fail(f'duplicate key "{key}" (expected each key once per mapping)', event.start_mark.line + 1)
                else:
                    container[key] = value
                top.has_key = False
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = str(exc.problem or exc.context)
        if "nesting depth" in problem:  # libyaml's own limit (1,000) can come first
            raise FileInvalid(name, f"nesting deeper than {MAX_DEPTH} levels (expected at most {MAX_DEPTH})",
                              line=line) from exc
        raise FileInvalid(name, f"not valid YAML: {problem} (expected YAML; check indentation, quotes and brackets)",
                          line=line) from exc
    except yaml.YAMLError as exc:
        raise FileInvalid(name, f"not valid YAML: {exc} (expected YAML text)") from exc
    finally:
        if gc_was_enabled:
            gc.enable()
        parser.dispose()
    return Loaded(root, lines)


def _key_text(key: Any) -> str | int:
    return "<<" if key is _MERGE_KEY else str(key)
