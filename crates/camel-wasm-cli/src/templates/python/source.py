"""`{{name}}`: a camel-wasm source plugin (world `source`) in Python: it
starts a route, `from: wasm:{{name}}.wasm?allow-timer=true`. This one ticks
every second; a webhook asks for `http=HttpListener(path="/path")` in its
plan instead and is granted an address with `?listen=127.0.0.1:8080`."""

import wit_world
from wit_world.imports import source_types, types
from wit_world.imports.source_types import (
    Event_Http,
    Event_Tick,
    HttpResponse,
    Outcome_Submit,
    SourcePlan,
    Timer,
)

from camel_wasm import set_header, text_body


def new_exchange(body: types.Body) -> types.Exchange:
    return types.Exchange(
        input=types.Message(headers=[], body=body),
        output=None,
        properties=[],
        pattern=types.Pattern.IN_ONLY,
        correlation_id="",
    )


class WitWorld(wit_world.WitWorld):
    def init(self) -> None:
        """Runs once per instance, before its first call."""

    def plan(self) -> source_types.SourcePlan:
        # Every second, without end (`times=n`: n times).
        return SourcePlan(http=None, timer=Timer(period_ms=1000, times=None))

    def on_event(self, event: source_types.Event) -> source_types.Outcome:
        if isinstance(event, Event_Tick):
            exchange = new_exchange(text_body(f"tick {event.value} from {{name}}"))
            set_header(exchange.input, "tick", event.value)
            return Outcome_Submit(exchange)
        assert isinstance(event, Event_Http)
        exchange = new_exchange(event.value.body)
        exchange.pattern = types.Pattern.IN_OUT
        return Outcome_Submit(exchange)

    def on_reply(self, reply: types.Exchange) -> source_types.HttpResponse:
        # `body=None` sends the route's reply body as it is.
        return HttpResponse(status=200, headers=[], body=None)
