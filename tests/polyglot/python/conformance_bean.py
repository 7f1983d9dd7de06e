"""Conformance bean in Python: methods `greet` and `config`, configured by
`init` (see crates/camel-component-wasm/tests/conformance/cases.rs)."""

import wit_world
from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import types

from camel_wasm import PluginError, body_text, text_body

CONFIG = {}


class WitWorld(wit_world.WitWorld):
    def init(self, config) -> None:
        CONFIG.update(dict(config))
        if "greeting" not in CONFIG:
            raise Err("missing config key `greeting`")

    def methods(self):
        return ["greet", "config"]

    def invoke(self, method: str, exchange: types.Exchange) -> types.Exchange:
        message = exchange.input
        if method == "greet":
            message.body = text_body(f"{CONFIG['greeting']}, {body_text(message.body)}")
        elif method == "config":
            message.body = text_body(",".join(f"{k}={v}" for k, v in sorted(CONFIG.items())))
        else:
            raise PluginError("not-found", f"no method {method!r}; methods: greet, config")
        return exchange


class BeanBodySource(exports.BeanBodySource):
    def next(self, id: int, max: int):
        raise PluginError("not-found", "this bean produces no bodies")

    def cancel(self, id: int) -> None:
        pass
