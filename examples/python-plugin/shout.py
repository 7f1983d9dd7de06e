"""A Python plugin for the `processor` world of camel:wasm@0.2.0:
upper-cases a text body and sets the header `shouted` (the same plugin as
examples/embedding/guests/shout, in Python). Build it with componentize-py:
see README.md beside this file."""

import wit_world
from wit_world import exports
from wit_world.imports import host, types

from camel_wasm import PluginError, body_kind, body_text, set_header, text_body


class WitWorld(wit_world.WitWorld):
    def init(self) -> None:
        pass  # runs once per instance, before its first exchange

    def process(self, exchange: types.Exchange) -> types.Exchange:
        message = exchange.input
        if body_kind(message.body) == "empty":
            raise PluginError("type-conversion", "expected a text body")
        message.body = text_body(body_text(message.body).upper())
        set_header(message, "shouted", True)
        set_header(message, "route", host.route_id() or "none")
        return exchange


class BodySource(exports.BodySource):
    """This plugin streams no bodies out; the world still exports the source."""

    def next(self, id: int, max: int):
        return None

    def cancel(self, id: int) -> None:
        pass
