"""`{{name}}`: a camel-wasm bean plugin (world `bean`) in Python: named
methods that `bean` steps of routes call, configured per `[beans.<name>]`
entry of Camel.toml."""

import wit_world
from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host, types

from camel_wasm import PluginError, body_kind, body_text, set_header, text_body

CONFIG = {}


class WitWorld(wit_world.WitWorld):
    def init(self, config) -> None:
        """Runs once per instance with the entry's `[beans.<name>.config]`
        pairs."""
        CONFIG.update(dict(config))
        if not CONFIG.get("greeting", "Hello"):
            raise Err("`greeting` must not be empty")

    def methods(self):
        return ["hello", "count"]

    def invoke(self, method: str, exchange: types.Exchange) -> types.Exchange:
        message = exchange.input
        if method == "hello":
            # Greets the text body, and counts greetings in the host's state.
            if body_kind(message.body) == "empty":
                raise PluginError("type-conversion", "expected a text body")
            greeting = CONFIG.get("greeting", "Hello")
            host.host_increment("greeted", 1)
            message.body = text_body(f"{greeting}, {body_text(message.body)}!")
        elif method == "count":
            # How many greetings this bean has made, as header `greeted`.
            set_header(message, "greeted", int(host.host_load("greeted") or 0))
        else:
            raise PluginError("not-found", f"no method {method!r}; methods: hello, count")
        return exchange


class BeanBodySource(exports.BeanBodySource):
    """Bodies this bean streams out (`host.produce_body`); it makes none."""

    def next(self, id: int, max: int):
        return None

    def cancel(self, id: int) -> None:
        pass
