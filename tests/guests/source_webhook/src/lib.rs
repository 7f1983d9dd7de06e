//! Test guest `source_webhook`: an HTTP source on `/orders`.
//!
//! - `POST` with a JSON object that has a numeric `id`: submitted to the
//!   route as a request-reply exchange with that JSON body (header
//!   `order-id`); the route's reply goes back to the client (default
//!   mapping: `CamelHttpResponseCode`, the reply body).
//! - `POST` with anything else: `400` (a `type-conversion` error).
//! - Another method: answered at once with `405`, without the route.
//! - Header `x-crash: trap`: aborts (a trap); `x-crash: spin`: loops.

use camel_wasm_sdk::{
    Body, Event, HttpResponse, Outcome, PluginError, SourcePlan, SourcePlugin, Value, export_source,
};

struct Webhook;

impl SourcePlugin for Webhook {
    fn plan() -> Result<SourcePlan, PluginError> {
        Ok(SourcePlan::http("/orders"))
    }

    fn on_event(event: Event) -> Result<Outcome, PluginError> {
        let Event::Http(request) = event else {
            return Ok(Outcome::Skip);
        };
        match request.header("x-crash") {
            Some("trap") => std::process::abort(),
            Some("spin") => loop {
                std::hint::black_box(());
            },
            _ => {}
        }
        if request.method != "POST" {
            return Ok(Outcome::Respond(
                HttpResponse::text(405, "POST only").with_header("allow", "POST"),
            ));
        }
        let order: Value = serde_json::from_slice(&request.body)
            .map_err(|e| PluginError::type_conversion(format!("invalid order: {e}")))?;
        let id = order
            .get("id")
            .and_then(Value::as_u64)
            .ok_or_else(|| PluginError::type_conversion("invalid order: no numeric `id`"))?;
        let mut exchange = request.into_exchange();
        exchange.set_body(Body::from(order));
        exchange.message_mut().set_header("order-id", id);
        Ok(Outcome::Submit(exchange))
    }
}

export_source!(Webhook);
