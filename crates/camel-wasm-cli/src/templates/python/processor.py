"""`{{name}}`: a camel-wasm processor plugin (world `processor`) in Python,
a route step `wasm:{{name}}.wasm`."""

import wit_world
from wit_world import exports
from wit_world.imports import types

from camel_wasm import body_kind, body_text, set_header, text_body


class WitWorld(wit_world.WitWorld):
    def init(self) -> None:
        """Runs once per instance, before its first exchange. `raise
        Err("why")` (from componentize_py_types) fails the route's start."""

    def process(self, exchange: types.Exchange) -> types.Exchange:
        """Called for every exchange that reaches the step: prefixes a text
        body and adds a header. `raise PluginError(kind, message)` (from
        camel_wasm) fails the exchange with that error."""
        message = exchange.input
        text = body_text(message.body) if body_kind(message.body) != "empty" else ""
        message.body = text_body(f"[{{name}}] {text}")
        set_header(message, "processed-by", "{{name}}")
        return exchange


class BodySource(exports.BodySource):
    """Bodies this plugin streams out (`host.produce_body`); it makes none."""

    def next(self, id: int, max: int):
        return None

    def cancel(self, id: int) -> None:
        pass
