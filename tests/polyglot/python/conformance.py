"""Conformance processor in Python: one behaviour per `case` header (see
crates/camel-component-wasm/tests/conformance/cases.rs for the list)."""

import wit_world
from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host, types

from camel_wasm import (
    BodyProducer, PluginError, body_kind, body_text, error_kind, header,
    prop, read_stream, remove_header, set_header, set_prop, text_body,
)

INIT_RUNS = 0
BODIES = BodyProducer()


class WitWorld(wit_world.WitWorld):
    def init(self) -> None:
        global INIT_RUNS
        INIT_RUNS += 1

    def process(self, exchange: types.Exchange) -> types.Exchange:
        message = exchange.input
        case = header(message, "case")
        handler = CASES.get(case)
        if handler is None:
            raise PluginError("not-found", f"unknown case {case!r}")
        return handler(exchange, message)


class BodySource(exports.BodySource):
    def next(self, id: int, max: int):
        return BODIES.next(id, max)

    def cancel(self, id: int) -> None:
        BODIES.cancel(id)


def identity(exchange, message):
    return exchange


def describe(exchange, message):
    body = message.body
    set_header(message, "kind", body_kind(body))
    if isinstance(body, types.Body_Text):
        message.body = text_body(body.value.upper())
    elif isinstance(body, types.Body_Bytes):
        message.body = types.Body_Bytes(bytes(reversed(body.value)))
    return exchange


def headers(exchange, message):
    set_header(message, "greeting", "hello " + header(message, "name"))
    set_header(message, "answer", header(message, "number") + 1)
    set_header(message, "flag", True)
    remove_header(message, "secret")
    return exchange


def properties(exchange, message):
    set_prop(exchange, "seen", prop(exchange, "input") + "!")
    host.set_property("via-host", "yes")
    set_header(message, "read", host.get_property("input") or "")
    return exchange


def error(exchange, message):
    variant = header(message, "variant")
    raise PluginError(variant, f"conformance {variant}")


def state(exchange, message):
    hits = host.host_increment("hits", 1)
    previous = host.host_load("last")
    host.host_store("last", body_text(message.body))
    stored = host.host_compare_and_set("token", None, "first")
    set_header(message, "hits", str(hits))
    set_header(message, "previous", previous or "")
    set_header(message, "cas", "true" if stored else "false")
    return exchange


def call(exchange, message):
    message.body = text_body(host.camel_call("direct:helper", body_text(message.body)))
    return exchange


def call_denied(exchange, message):
    try:
        host.camel_call("direct:forbidden", "x")
        set_header(message, "call-error", "none")
    except Err as failure:
        set_header(message, "call-error", error_kind(failure))
    return exchange


def init(exchange, message):
    set_header(message, "init-runs", str(INIT_RUNS))
    return exchange


def route_id(exchange, message):
    set_header(message, "route-id", host.route_id() or "")
    return exchange


def correlation(exchange, message):
    set_header(message, "correlation", exchange.correlation_id)
    return exchange


def stream_in(exchange, message):
    body = message.body
    if not isinstance(body, types.Body_Stream):
        raise PluginError("type-conversion", "expected a stream body, got " + body_kind(body))
    data = read_stream(body.value, 1000)
    set_header(message, "bytes", str(len(data)))
    message.body = text_body(data.decode("utf-8"))
    return exchange


def stream_out(exchange, message):
    lines = int(header(message, "lines"))
    message.body = BODIES.body(f"{n}\n".encode() for n in range(lines))
    return exchange


def crash(exchange, message):
    raise RuntimeError("conformance crash")


def output(exchange, message):
    exchange.output = types.Message(headers=[("made-by", types.Value_Text("output"))],
                                    body=text_body("out"))
    return exchange


CASES = {
    "identity": identity,
    "describe": describe,
    "headers": headers,
    "properties": properties,
    "error": error,
    "state": state,
    "call": call,
    "call-denied": call_denied,
    "init": init,
    "route-id": route_id,
    "correlation": correlation,
    "stream-in": stream_in,
    "stream-out": stream_out,
    "crash": crash,
    "output": output,
}
