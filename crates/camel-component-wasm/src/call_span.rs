//! One tracing span and one metrics record per guest call.
//!
//! Every entry into a plugin (a processor's `process`, a bean method, a
//! policy evaluation, a source's `plan`/`on-event`/`on-reply`) runs inside a
//! `wasm.call` span (target `camel_wasm::call`) with these fields:
//!
//! | field | value |
//! |---|---|
//! | `plugin` | the module path, or the bean's or policy's name |
//! | `kind` | `processor`, `bean`, `policy` or `source` |
//! | `export` | the function called (`process`, `invoke`, `evaluate`, `on-event`, ...) |
//! | `method` | a bean's method |
//! | `route_id` | the route, when known |
//! | `exchange_id` | the exchange's correlation id, when there is an exchange |
//! | `outcome` | `ok` or `error` |
//! | `error_class` | [`WasmError::class`] of a failure |
//!
//! Making a fresh instance adds a `wasm.init` span inside it, and the
//! guest's stdout/stderr lines are events inside them. Nothing of the
//! exchange's body, headers or properties is recorded.
//!
//! When the exchange carries an active OpenTelemetry span (rust-camel's
//! tracer is on), the call is also an OpenTelemetry span `wasm.call`, a
//! child of the step's, with the same attributes (as `camel.wasm.*`), so
//! exported traces show the plugin inside the route.

use std::future::Future;
use std::time::Instant;

use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{KeyValue, global};
use tracing::Instrument;

use crate::error::{Result, WasmError};
use crate::instance_pool::InstancePool;
use crate::world::PluginWorld;

/// What a call is, for its span.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallSite<'a> {
    /// The export called.
    pub(crate) export: &'static str,
    /// A bean's method.
    pub(crate) method: Option<&'a str>,
    /// The route, when known.
    pub(crate) route_id: Option<&'a str>,
    /// The exchange's correlation id, when there is an exchange.
    pub(crate) exchange_id: Option<&'a str>,
    /// The exchange's OpenTelemetry context, when there is an exchange.
    pub(crate) otel: Option<&'a opentelemetry::Context>,
}

impl<'a> CallSite<'a> {
    /// A call of `export` with nothing else known.
    pub(crate) fn export(export: &'static str) -> Self {
        CallSite {
            export,
            method: None,
            route_id: None,
            exchange_id: None,
            otel: None,
        }
    }

    /// The same call, on `route_id`.
    pub(crate) fn route(mut self, route_id: Option<&'a str>) -> Self {
        self.route_id = route_id;
        self
    }

    /// The same call, for `exchange`.
    pub(crate) fn exchange(mut self, exchange: &'a camel_api::Exchange) -> Self {
        self.exchange_id = Some(&exchange.correlation_id);
        self.otel = Some(&exchange.otel_context);
        self
    }
}

/// The spans of one call: tracing's, and OpenTelemetry's when the exchange
/// is traced.
#[derive(Debug)]
pub(crate) struct CallSpans {
    span: tracing::Span,
    otel: Option<global::BoxedSpan>,
}

impl<W: PluginWorld> InstancePool<W> {
    /// The spans of one call (their fields are read now, so `site` may
    /// borrow from an exchange the call then takes).
    pub(crate) fn span(&self, site: CallSite<'_>) -> CallSpans {
        let span = tracing::info_span!(
            target: "camel_wasm::call",
            "wasm.call",
            plugin = %self.plugin.name,
            kind = W::NAME,
            export = site.export,
            method = site.method,
            route_id = site.route_id,
            exchange_id = site.exchange_id,
            outcome = tracing::field::Empty,
            error_class = tracing::field::Empty,
        );
        let otel = site
            .otel
            .filter(|parent| parent.has_active_span())
            .map(|parent| self.otel_span(&site, parent));
        CallSpans { span, otel }
    }

    fn otel_span(&self, site: &CallSite<'_>, parent: &opentelemetry::Context) -> global::BoxedSpan {
        let tracer = global::tracer("camel-component-wasm");
        let mut attributes = vec![
            KeyValue::new("camel.wasm.plugin", self.plugin.name.to_string()),
            KeyValue::new("camel.wasm.kind", W::NAME),
            KeyValue::new("camel.wasm.export", site.export),
        ];
        if let Some(method) = site.method {
            attributes.push(KeyValue::new("camel.wasm.method", method.to_string()));
        }
        if let Some(route) = site.route_id {
            attributes.push(KeyValue::new("camel.route_id", route.to_string()));
        }
        if let Some(id) = site.exchange_id {
            attributes.push(KeyValue::new("camel.correlation_id", id.to_string()));
        }
        tracer
            .span_builder("wasm.call")
            .with_kind(SpanKind::Internal)
            .with_attributes(attributes)
            .start_with_context(&tracer, parent)
    }

    /// Runs `call` (everything one entry into the plugin does, including
    /// mapping its result) inside `spans`, and counts it.
    pub(crate) async fn observe<T>(
        &self,
        spans: CallSpans,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let CallSpans { span, otel } = spans;
        let started = self.plugin.metrics.as_ref().map(|_| Instant::now());
        let result = call.instrument(span.clone()).await;
        let error = result.as_ref().err();
        if let (Some(metrics), Some(started)) = (&self.plugin.metrics, started) {
            metrics.call(started.elapsed(), error);
        }
        if !span.is_disabled() {
            record_outcome(&span, error);
        }
        if let Some(mut otel) = otel {
            match error {
                None => otel.set_attribute(KeyValue::new("camel.wasm.outcome", "ok")),
                Some(err) => {
                    otel.set_attribute(KeyValue::new("camel.wasm.outcome", "error"));
                    otel.set_attribute(KeyValue::new("camel.wasm.error_class", err.class()));
                    otel.set_status(Status::error(err.class()));
                }
            }
            otel.end();
        }
        result
    }
}

fn record_outcome(span: &tracing::Span, error: Option<&WasmError>) {
    match error {
        None => {
            span.record("outcome", "ok");
        }
        Some(err) => {
            span.record("outcome", "error");
            span.record("error_class", err.class());
        }
    }
}
