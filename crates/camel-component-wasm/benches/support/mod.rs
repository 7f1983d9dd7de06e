//! Fixtures shared by the benchmarks: tokio runtimes, payloads, a running
//! `CamelContext` with native and `wasm:` routes, and the lane runners that
//! keep N exchanges in flight.

pub(crate) mod raw;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use camel_api::{Body, BoxProcessor, CamelError, Exchange, Message};
use camel_builder::{RouteBuilder, StepAccumulator};
use camel_component_api::ComponentBundle;
use camel_component_direct::DirectComponent;
use camel_component_wasm::{WasmBundle, WasmRuntime};
use camel_core::{CamelContext, RegistryComponentContext};
use tower::ServiceExt;

use crate::common::{direct_producer, file_name, guest_dir, ready_producer};
use raw::{RawGuest, RawInstance, wit};

/// The tokio runtime a benchmark runs on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Flavor {
    /// `new_current_thread()`: everything on the benchmark's thread.
    CurrentThread,
    /// `new_multi_thread()` with 2 workers (one per core of the reference
    /// machine).
    MultiThread,
}

impl Flavor {
    /// Both flavors, in the order they run.
    pub(crate) const ALL: [Flavor; 2] = [Flavor::CurrentThread, Flavor::MultiThread];

    /// The label used in benchmark ids.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Flavor::CurrentThread => "ct",
            Flavor::MultiThread => "mt2",
        }
    }

    /// A fresh runtime of this flavor.
    pub(crate) fn runtime(self) -> tokio::runtime::Runtime {
        let mut builder = match self {
            Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
            Flavor::MultiThread => {
                let mut b = tokio::runtime::Builder::new_multi_thread();
                b.worker_threads(2);
                b
            }
        };
        builder.enable_all().build().expect("tokio runtime")
    }
}

/// What the plugin (and its native twin) does to an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Work {
    /// Returns the exchange unchanged (guest `echo`).
    Identity,
    /// Uppercases a text body and sets header `x-uppercased` (guest
    /// `uppercase`).
    Uppercase,
}

impl Work {
    /// Both kinds of work.
    pub(crate) const ALL: [Work; 2] = [Work::Identity, Work::Uppercase];

    /// The label used in benchmark ids and route ids.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Work::Identity => "identity",
            Work::Uppercase => "uppercase",
        }
    }

    /// The guest that does this work.
    pub(crate) fn artifact(self) -> &'static str {
        match self {
            Work::Identity => camel_wasm_test_artifacts::ECHO,
            Work::Uppercase => camel_wasm_test_artifacts::UPPERCASE,
        }
    }

    /// The payloads this work is measured with.
    pub(crate) fn payloads(self) -> &'static [Payload] {
        const KIB: usize = 1024;
        const MIB: usize = 1024 * KIB;
        match self {
            Work::Identity => &[
                Payload::Text(100),
                Payload::Text(64 * KIB),
                Payload::Text(MIB),
                Payload::Bytes(MIB),
            ],
            Work::Uppercase => &[
                Payload::Text(100),
                Payload::Text(64 * KIB),
                Payload::Text(MIB),
            ],
        }
    }
}

/// A message body of a given kind and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Payload {
    /// Lower-case ASCII prose of this many bytes.
    Text(usize),
    /// Binary data (every byte value) of this many bytes.
    Bytes(usize),
}

const PROSE: &[u8] = b"the quick brown fox jumps over the lazy dog, then naps. ";

impl Payload {
    /// Size in bytes.
    pub(crate) fn len(self) -> usize {
        match self {
            Payload::Text(n) | Payload::Bytes(n) => n,
        }
    }

    /// `text-100B`, `text-64KiB`, `bytes-1MiB`, …
    pub(crate) fn label(self) -> String {
        let kind = match self {
            Payload::Text(_) => "text",
            Payload::Bytes(_) => "bytes",
        };
        let n = self.len();
        let size = if n >= 1024 * 1024 && n.is_multiple_of(1024 * 1024) {
            format!("{}MiB", n / (1024 * 1024))
        } else if n >= 1024 && n.is_multiple_of(1024) {
            format!("{}KiB", n / 1024)
        } else {
            format!("{n}B")
        };
        format!("{kind}-{size}")
    }

    fn text(n: usize) -> String {
        let bytes: Vec<u8> = PROSE.iter().copied().cycle().take(n).collect();
        String::from_utf8(bytes).expect("ASCII")
    }

    fn bytes(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 % 256) as u8).collect()
    }

    /// A freshly allocated rust-camel body (uniquely owned, as a consumer
    /// would produce it).
    pub(crate) fn camel_body(self) -> Body {
        match self {
            Payload::Text(n) => Body::Text(Self::text(n)),
            Payload::Bytes(n) => Body::Bytes(Self::bytes(n).into()),
        }
    }

    /// The same body as a WIT value, for the raw wasmtime floor.
    pub(crate) fn wit_body(self) -> wit::Body {
        match self {
            Payload::Text(n) => wit::Body::Text(Self::text(n)),
            Payload::Bytes(n) => wit::Body::Bytes(Self::bytes(n)),
        }
    }
}

/// Who runs the work in a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// `.process(closure)`: the native floor.
    Native,
    /// `.to("wasm:<guest>.wasm")`: the host under test.
    Wasm,
}

impl Step {
    fn label(self) -> &'static str {
        match self {
            Step::Native => "native",
            Step::Wasm => "wasm",
        }
    }
}

/// How the route's consumer admits exchanges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// The default (sequential) route: the direct producer runs the pipeline
    /// inline on the caller's task, one exchange at a time.
    Default,
    /// `.concurrent(0)`: one spawned task per exchange, unbounded.
    Concurrent,
}

fn route_id(step: Step, work: Work, admission: Admission) -> String {
    let suffix = match admission {
        Admission::Default => "",
        Admission::Concurrent => "-concurrent",
    };
    format!("{}-{}{suffix}", step.label(), work.label())
}

/// The body of a reply: its output message if a step set one, else input.
fn reply_body(reply: Exchange) -> Body {
    let Exchange { input, output, .. } = reply;
    output.unwrap_or(input).body
}

/// A started `CamelContext` with, for each [`Work`], a native and a `wasm:`
/// route in both admission modes, and direct producers created once.
pub(crate) struct CamelFixture {
    ctx: CamelContext,
    /// One producer per route with [`Admission::Default`].
    default: Vec<(String, BoxProcessor)>,
    /// `max_lanes` producers per route with [`Admission::Concurrent`]: a
    /// direct producer serialises its own calls (one permit, shared by its
    /// clones), so each lane needs its own.
    concurrent: Vec<(String, Vec<BoxProcessor>)>,
}

impl CamelFixture {
    /// Builds and starts the context; every producer has delivered one
    /// exchange when this returns.
    pub(crate) async fn start(runtime: WasmRuntime, max_lanes: usize) -> Self {
        let mut ctx = CamelContext::builder().build().await.expect("context");
        let registry = Arc::new(RegistryComponentContext::new(
            ctx.registry_arc(),
            Some(ctx.metrics()),
            false,
        ));
        WasmBundle::new(guest_dir())
            .with_runtime(runtime)
            .with_context(registry)
            .register_all(&mut ctx);
        ctx.register_component(DirectComponent::new());

        let mut default = Vec::new();
        let mut concurrent = Vec::new();
        for work in Work::ALL {
            for step in [Step::Native, Step::Wasm] {
                for admission in [Admission::Default, Admission::Concurrent] {
                    let id = route_id(step, work, admission);
                    add_route(&ctx, &id, step, work, admission).await;
                    match admission {
                        Admission::Default => default
                            .push((id.clone(), direct_producer(&ctx, &format!("direct:{id}")))),
                        Admission::Concurrent => {
                            let lanes: Vec<_> = (0..max_lanes)
                                .map(|_| direct_producer(&ctx, &format!("direct:{id}")))
                                .collect();
                            concurrent.push((id, lanes));
                        }
                    }
                }
            }
        }
        ctx.start().await.expect("start");

        // The direct consumers register after start() returns: retry until
        // each route answers, then check every producer once.
        let warm_up = || Exchange::new_in_out(Message::new("warm-up"));
        for (id, _) in &default {
            ready_producer(&ctx, &format!("direct:{id}"), warm_up).await;
        }
        for (id, lanes) in &concurrent {
            ready_producer(&ctx, &format!("direct:{id}"), warm_up).await;
            for lane in lanes {
                lane.clone()
                    .oneshot(Exchange::new_in_out(Message::new("warm-up")))
                    .await
                    .unwrap_or_else(|e| panic!("route {id}: {e}"));
            }
        }
        let fixture = CamelFixture {
            ctx,
            default,
            concurrent,
        };
        fixture.check_replies().await;
        fixture
    }

    /// The default route's producer.
    pub(crate) fn producer(&self, step: Step, work: Work) -> &BoxProcessor {
        let id = route_id(step, work, Admission::Default);
        &self
            .default
            .iter()
            .find(|(i, _)| *i == id)
            .expect("route exists")
            .1
    }

    /// The first `n` lane producers of the concurrent route.
    pub(crate) fn lanes(&self, step: Step, work: Work, n: usize) -> &[BoxProcessor] {
        let id = route_id(step, work, Admission::Concurrent);
        &self
            .concurrent
            .iter()
            .find(|(i, _)| *i == id)
            .expect("route exists")
            .1[..n]
    }

    /// Every route does what its twin does.
    async fn check_replies(&self) {
        for work in Work::ALL {
            let input = Payload::Text(100).camel_body();
            let expected = match (&input, work) {
                (Body::Text(s), Work::Uppercase) => Body::Text(s.to_uppercase()),
                (other, _) => other.clone(),
            };
            for step in [Step::Native, Step::Wasm] {
                let reply = self
                    .producer(step, work)
                    .clone()
                    .oneshot(Exchange::new_in_out(Message::new(input.clone())))
                    .await
                    .expect("route");
                let body = reply_body(reply);
                assert_eq!(
                    format!("{body:?}"),
                    format!("{expected:?}"),
                    "{} {}",
                    step.label(),
                    work.label()
                );
            }
        }
        let bytes = Payload::Bytes(1024).camel_body();
        let reply = self
            .producer(Step::Wasm, Work::Identity)
            .clone()
            .oneshot(Exchange::new_in_out(Message::new(bytes.clone())))
            .await
            .expect("route");
        assert_eq!(format!("{:?}", reply_body(reply)), format!("{bytes:?}"));
    }

    /// Stops the context.
    pub(crate) async fn stop(mut self) {
        self.ctx.stop().await.expect("stop");
    }
}

async fn add_route(ctx: &CamelContext, id: &str, step: Step, work: Work, admission: Admission) {
    let mut builder = RouteBuilder::from(&format!("direct:{id}")).route_id(id);
    if admission == Admission::Concurrent {
        builder = builder.concurrent(0);
    }
    builder = match (step, work) {
        (Step::Native, Work::Identity) => {
            builder.process(|exchange: Exchange| async move { Ok::<_, CamelError>(exchange) })
        }
        (Step::Native, Work::Uppercase) => builder.process(native_uppercase),
        (Step::Wasm, _) => builder.to(format!("wasm:{}", file_name(work.artifact()))),
    };
    ctx.add_route_definition(builder.build().expect("route definition"))
        .await
        .unwrap_or_else(|e| panic!("route {id}: {e}"));
}

/// The native twin of guest `uppercase`.
async fn native_uppercase(mut exchange: Exchange) -> Result<Exchange, CamelError> {
    if let Body::Text(text) = &exchange.input.body {
        let upper = text.to_uppercase();
        exchange.input.body = Body::Text(upper);
    }
    exchange.input.set_header("x-uppercased", "true");
    Ok(exchange)
}

/// Sends `iters` exchanges through `producer` one after the other, each
/// carrying the previous reply's body (so no time goes into building
/// bodies), and returns the last body.
async fn route_lane(producer: BoxProcessor, mut body: Body, iters: u64) -> Body {
    for _ in 0..iters {
        let reply = producer
            .clone()
            .oneshot(Exchange::new_in_out(Message::new(body)))
            .await
            .unwrap_or_else(|e| panic!("exchange failed: {e}"));
        body = reply_body(reply);
    }
    body
}

/// Runs one spawned lane per producer, each sending `iters` exchanges, and
/// returns the wall time until all are done. Bodies are built before the
/// clock starts and freed after it stops.
pub(crate) async fn run_route_lanes(
    producers: &[BoxProcessor],
    payload: Payload,
    iters: u64,
) -> Duration {
    let bodies: Vec<Body> = producers.iter().map(|_| payload.camel_body()).collect();
    let start = Instant::now();
    let lanes: Vec<_> = producers
        .iter()
        .cloned()
        .zip(bodies)
        .map(|(producer, body)| tokio::spawn(route_lane(producer, body, iters)))
        .collect();
    let mut last = Vec::with_capacity(lanes.len());
    for lane in lanes {
        last.push(lane.await.expect("lane panicked"));
    }
    let elapsed = start.elapsed();
    drop(std::hint::black_box(last));
    elapsed
}

/// A correlation id as long as a UUID, for the raw floor's exchanges.
const CORRELATION_ID: &str = "00000000-0000-4000-8000-000000000000";

/// Raw wasmtime instances of one guest, one per lane, reused across samples.
pub(crate) struct RawLanes {
    instances: Arc<Mutex<Vec<RawInstance>>>,
}

impl RawLanes {
    /// `n` initialised instances of `guest`.
    pub(crate) async fn new(guest: &RawGuest, n: usize) -> Self {
        let mut instances = Vec::with_capacity(n);
        for _ in 0..n {
            instances.push(guest.instance().await);
        }
        RawLanes {
            instances: Arc::new(Mutex::new(instances)),
        }
    }

    /// Like [`run_route_lanes`], on the first `n` instances.
    pub(crate) async fn run(&self, n: usize, payload: Payload, iters: u64) -> Duration {
        let mut instances = std::mem::take(&mut *self.instances.lock().expect("lanes"));
        assert!(n <= instances.len(), "not enough raw instances");
        let rest = instances.split_off(n);
        let bodies: Vec<wit::Body> = (0..n).map(|_| payload.wit_body()).collect();
        let start = Instant::now();
        let lanes: Vec<_> = instances
            .into_iter()
            .zip(bodies)
            .map(|(mut instance, mut body)| {
                tokio::spawn(async move {
                    for _ in 0..iters {
                        body = instance.process(body, CORRELATION_ID).await;
                    }
                    (instance, body)
                })
            })
            .collect();
        let mut back = Vec::with_capacity(n + rest.len());
        let mut last = Vec::with_capacity(n);
        for lane in lanes {
            let (instance, body) = lane.await.expect("raw lane panicked");
            back.push(instance);
            last.push(body);
        }
        let elapsed = start.elapsed();
        drop(std::hint::black_box(last));
        back.extend(rest);
        *self.instances.lock().expect("lanes") = back;
        elapsed
    }
}
