"""Thin helpers over the bindings componentize-py generates for the
`camel:wasm@0.2.0` worlds (module `wit_world`).

The generated bindings are complete; these helpers only make the common
things short: typed header and property access (JSON values decoded),
body kinds as Python values, and the WIT `error` variant as exceptions.

    from camel_wasm import header, set_header, body_text, PluginError

Put this file next to the plugin (or on a `-p` path) when running
`componentize-py ... componentize`.
"""

import json
from typing import Any, Iterator, List, Optional, Tuple

from componentize_py_types import Err
from wit_world.imports import host, types

__all__ = [
    "PluginError",
    "header",
    "set_header",
    "remove_header",
    "prop",
    "set_prop",
    "body_kind",
    "body_text",
    "text_body",
    "bytes_body",
    "json_body",
    "read_stream",
    "BodyProducer",
]


def PluginError(kind: str, message: str) -> Err:
    """The WIT `error` variant as an exception to `raise`: `kind` is one of
    `failed`, `type-conversion`, `not-found`, `denied`, `limit-exceeded`,
    `io`, `timeout`."""
    cases = {
        "failed": types.Error_Failed,
        "type-conversion": types.Error_TypeConversion,
        "not-found": types.Error_NotFound,
        "denied": types.Error_Denied,
        "limit-exceeded": types.Error_LimitExceeded,
        "io": types.Error_Io,
        "timeout": types.Error_Timeout,
    }
    return Err(cases[kind](message))


def error_kind(error: Err) -> str:
    """The variant name of a WIT `error` raised by a host function."""
    names = {
        types.Error_Failed: "failed",
        types.Error_TypeConversion: "type-conversion",
        types.Error_NotFound: "not-found",
        types.Error_Denied: "denied",
        types.Error_LimitExceeded: "limit-exceeded",
        types.Error_Io: "io",
        types.Error_Timeout: "timeout",
    }
    return names.get(type(error.value), "failed")


def _decode(value: Any) -> Any:
    if isinstance(value, types.Value_Text):
        return value.value
    return json.loads(value.value)


def _encode(value: Any) -> Any:
    if isinstance(value, str):
        return types.Value_Text(value)
    return types.Value_Json(json.dumps(value))


def _get(fields: List[Tuple[str, Any]], name: str) -> Any:
    for key, value in fields:
        if key == name:
            return _decode(value)
    return None


def _set(fields: List[Tuple[str, Any]], name: str, value: Any) -> None:
    encoded = _encode(value)
    for index, (key, _) in enumerate(fields):
        if key == name:
            fields[index] = (name, encoded)
            return
    fields.append((name, encoded))


def header(message: types.Message, name: str) -> Any:
    """A header's value (strings as `str`, other JSON values decoded), or None."""
    return _get(message.headers, name)


def set_header(message: types.Message, name: str, value: Any) -> None:
    """Sets a header; a `str` travels as text, anything else as JSON."""
    _set(message.headers, name, value)


def remove_header(message: types.Message, name: str) -> None:
    """Removes a header if present."""
    message.headers[:] = [(k, v) for (k, v) in message.headers if k != name]


def prop(exchange: types.Exchange, name: str) -> Any:
    """An exchange property's value, decoded like `header`, or None."""
    return _get(exchange.properties, name)


def set_prop(exchange: types.Exchange, name: str, value: Any) -> None:
    """Sets an exchange property in the returned exchange."""
    _set(exchange.properties, name, value)


_KINDS = {
    types.Body_Empty: "empty",
    types.Body_Text: "text",
    types.Body_Bytes: "bytes",
    types.Body_Json: "json",
    types.Body_Xml: "xml",
    types.Body_Stream: "stream",
}


def body_kind(body: types.Body) -> str:
    """`empty`, `text`, `bytes`, `json`, `xml` or `stream`."""
    return _KINDS[type(body)]


def body_text(body: types.Body) -> str:
    """The body as text: text, JSON and XML as they are, bytes decoded as
    UTF-8, a stream read to its end; raises `type-conversion` otherwise."""
    if isinstance(body, (types.Body_Text, types.Body_Json, types.Body_Xml)):
        return body.value
    if isinstance(body, types.Body_Empty):
        return ""
    data = body.value if isinstance(body, types.Body_Bytes) else read_stream(body.value)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PluginError("type-conversion", f"body is not UTF-8: {error}")


def text_body(text: str) -> types.Body:
    """A text body."""
    return types.Body_Text(text)


def bytes_body(data: bytes) -> types.Body:
    """A binary body."""
    return types.Body_Bytes(bytes(data))


def json_body(value: Any) -> types.Body:
    """A JSON body holding `value`."""
    return types.Body_Json(json.dumps(value))


def read_stream(stream: types.BodyStream, piece: int = 64 * 1024) -> bytes:
    """Reads a `stream` body to its end, `piece` bytes at a time."""
    parts = []
    while True:
        chunk = stream.read(piece)
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)


class BodyProducer:
    """Bodies a plugin streams out: `body(chunks)` returns a `stream` body
    whose pieces the host pulls from the iterator after the call. Route the
    world's body-source export to it:

        bodies = BodyProducer()
        class BodySource(wit_world.exports.BodySource):
            def next(self, id, max): return bodies.next(id, max)
            def cancel(self, id): bodies.cancel(id)
    """

    def __init__(self) -> None:
        self._open: dict = {}
        self._next_id = 0

    def body(self, chunks: Iterator[bytes]) -> types.Body:
        self._next_id += 1
        self._open[self._next_id] = (iter(chunks), bytearray())
        return types.Body_Stream(host.produce_body(self._next_id))

    def next(self, id: int, max: int) -> Optional[bytes]:
        entry = self._open.get(id)
        if entry is None:
            raise PluginError("not-found", f"no produced body {id}")
        chunks, pending = entry
        while not pending:
            try:
                pending.extend(next(chunks))
            except StopIteration:
                del self._open[id]
                return None
        out = bytes(pending[:max])
        del pending[:max]
        return out

    def cancel(self, id: int) -> None:
        self._open.pop(id, None)
