//! Plugin state in Redis (`state=redis://…`), against a real `redis-server`.
//!
//! Most tests use the server at `CAMEL_WASM_TEST_REDIS` (default
//! `redis://127.0.0.1:6379`; `.ci/run` starts one) and fail, never skip,
//! if it does not answer. Each test writes under its own `state-prefix`,
//! so runs never see each other's keys. The test that stops Redis mid-run
//! starts, kills and restarts a `redis-server` of its own on a free port.
//!
//! The cross-process tests re-run this test binary as child processes
//! (`child_process`, selected by `CAMEL_WASM_REDIS_CHILD`), each with its
//! own `CamelContext`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use camel_api::{BoxProcessor, CamelError, Exchange, HealthStatus, Message, Value};
use camel_builder::{RouteBuilder, StepAccumulator};
use camel_component_api::{ComponentBundle, NoOpComponentContext, RuntimeObservability};
use camel_component_direct::DirectComponent;
use camel_component_wasm::WasmBundle;
use camel_core::{CamelContext, RegistryComponentContext};
use camel_wasm_test_artifacts as guests;
use tower::ServiceExt;

/// Selects the role of a child process (see [`child_process`]).
const CHILD_ENV: &str = "CAMEL_WASM_REDIS_CHILD";
/// Exchanges each of the two counting processes sends.
const EXCHANGES_PER_PROCESS: usize = 10_000;
/// Exchanges in flight in each counting process.
const IN_FLIGHT: usize = 16;

// ---------------------------------------------------------------- helpers

/// The shared test server's URL; panics with a clear message if it does
/// not answer `PING`.
fn redis_url() -> String {
    let url = std::env::var("CAMEL_WASM_TEST_REDIS")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_string());
    if let Err(e) = ping(&url) {
        panic!(
            "the Redis tests need a running redis-server at {url} (set CAMEL_WASM_TEST_REDIS \
             to use another; `.ci/run` starts one): {e}"
        );
    }
    url
}

fn ping(url: &str) -> redis::RedisResult<()> {
    let client = redis::Client::open(url)?;
    let mut conn = client.get_connection_with_timeout(Duration::from_secs(2))?;
    redis::cmd("PING").query::<String>(&mut conn).map(|_| ())
}

/// A direct (synchronous) connection, to look at what the host wrote.
fn inspect(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
        .expect("inspection connection")
}

/// A `state-prefix` no other test or run uses.
fn unique_prefix(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("test-{tag}-{}-{nanos}", std::process::id())
}

fn guest_dir() -> PathBuf {
    Path::new(guests::COUNTER)
        .parent()
        .expect("artifact directory")
        .to_path_buf()
}

fn file_name(artifact: &str) -> String {
    Path::new(artifact)
        .file_name()
        .expect("artifact file name")
        .to_string_lossy()
        .into_owned()
}

/// A started context with `direct:` and `wasm:` (serving the test guests)
/// and one route per `(id, wasm URI, in flight)`.
async fn context(routes: &[(&str, String, usize)]) -> CamelContext {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
    let mut ctx = CamelContext::builder().build().await.expect("context");
    let registry = Arc::new(RegistryComponentContext::new(
        ctx.registry_arc(),
        Some(ctx.metrics()),
        false,
    ));
    WasmBundle::new(guest_dir())
        .with_context(registry)
        .register_all(&mut ctx);
    ctx.register_component(DirectComponent::new());
    for (id, uri, in_flight) in routes {
        let mut builder = RouteBuilder::from(&format!("direct:{id}")).route_id(*id);
        if *in_flight > 1 {
            builder = builder.concurrent(*in_flight);
        }
        let route = builder.to(uri.as_str()).build().expect("route");
        ctx.add_route_definition(route).await.expect("add route");
    }
    ctx.start().await.expect("start");
    ctx
}

/// A `direct:<id>` producer of its own (one producer sends one exchange
/// at a time, so each lane needs one).
fn producer(ctx: &CamelContext, id: &str) -> BoxProcessor {
    let rt: Arc<dyn RuntimeObservability> = Arc::new(NoOpComponentContext);
    ctx.registry()
        .get("direct")
        .expect("direct registered")
        .create_endpoint(&format!("direct:{id}"), ctx)
        .expect("direct endpoint")
        .create_producer(rt, &ctx.producer_context())
        .expect("direct producer")
}

/// Sends one exchange, retrying only while the route's consumer is not yet
/// registered (then the exchange never reached the route).
async fn send(producer: &BoxProcessor, exchange: Exchange) -> Result<Exchange, CamelError> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match producer.clone().oneshot(exchange.clone()).await {
            Err(CamelError::EndpointCreationFailed(m))
                if m.ends_with("not registered") && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            other => return other,
        }
    }
}

/// An exchange for guest `state_ops`.
fn op(headers: &[(&str, &str)]) -> Exchange {
    let mut message = Message::new("x");
    for (name, value) in headers {
        message.set_header(*name, *value);
    }
    Exchange::new_in_out(message)
}

fn header<'a>(exchange: &'a Exchange, name: &str) -> Option<&'a Value> {
    exchange.input.header(name)
}

fn state_ops_uri(url: &str, prefix: &str, extra: &str) -> String {
    format!(
        "wasm:{}?state={url}&state-prefix={prefix}{extra}",
        file_name(guests::STATE_OPS)
    )
}

/// A `redis-server` of this test's own, on a free port; killed on drop.
struct OwnRedis {
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut redis = OwnRedis { port, child: None };
        redis.restart();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on the same port and waits for it.
    fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start `redis-server` (install the redis-server package): {e}")
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while ping(&self.url()).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server (SIGKILL: no goodbye to its clients).
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs this test binary again as a child process in `role`.
fn spawn_child(role: &str, vars: &[(&str, &str)]) -> Child {
    let exe = std::env::current_exe().expect("test binary");
    let mut command = Command::new(exe);
    command
        .args([
            "--exact",
            "child_process",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_ENV, role)
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit());
    for (name, value) in vars {
        command.env(name, value);
    }
    command.spawn().expect("spawn child process")
}

fn wait_ok(mut child: Child, what: &str) {
    let status = child.wait().expect("wait for child");
    assert!(status.success(), "{what} failed: {status}");
}

// ------------------------------------------------------------- the tests

/// Two OS processes, each with its own `CamelContext` and the same plugin
/// (guest `counter`, `host-increment`), each sending 10 000 exchanges with
/// 16 in flight through a `.concurrent(16)` route: the shared counter ends
/// at exactly 20 000, and the values the increments returned are exactly
/// 1..=20 000 (no update lost, none applied twice).
#[test]
fn two_processes_share_one_counter_exactly() {
    let url = redis_url();
    let prefix = unique_prefix("count");
    let dir = tempfile::tempdir().expect("temp dir");
    let outs: Vec<PathBuf> = (0..2)
        .map(|i| dir.path().join(format!("counts-{i}")))
        .collect();
    let children: Vec<Child> = outs
        .iter()
        .map(|out| {
            spawn_child(
                "count",
                &[
                    ("CAMEL_WASM_REDIS_URL", &url),
                    ("CAMEL_WASM_REDIS_PREFIX", &prefix),
                    ("CAMEL_WASM_REDIS_OUT", &out.to_string_lossy()),
                ],
            )
        })
        .collect();
    for child in children {
        wait_ok(child, "counting process");
    }
    let mut seen: Vec<i64> = Vec::new();
    for out in &outs {
        let text = std::fs::read_to_string(out).expect("child output");
        let counts: Vec<i64> = text.lines().map(|l| l.parse().expect("count")).collect();
        assert_eq!(counts.len(), EXCHANGES_PER_PROCESS, "{}", out.display());
        seen.extend(counts);
    }
    seen.sort_unstable();
    let expected: Vec<i64> = (1..=(2 * EXCHANGES_PER_PROCESS) as i64).collect();
    assert!(
        seen == expected,
        "the increments' results are not 1..=20000"
    );
    // The documented key layout: <prefix>:route/<route-id>/<path>:<key>.
    let key = format!("{prefix}:route/count/{}:count", file_name(guests::COUNTER));
    let total: String = redis::cmd("GET")
        .arg(&key)
        .query(&mut inspect(&url))
        .expect("GET");
    assert_eq!(total, "20000");
}

/// State one process wrote is read by a fresh process (a restarted
/// application) under the same configuration.
#[test]
fn state_survives_an_application_restart() {
    let url = redis_url();
    let prefix = unique_prefix("restart");
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("loaded");
    let vars = |role_out: &str| {
        vec![
            ("CAMEL_WASM_REDIS_URL".to_string(), url.clone()),
            ("CAMEL_WASM_REDIS_PREFIX".to_string(), prefix.clone()),
            ("CAMEL_WASM_REDIS_OUT".to_string(), role_out.to_string()),
        ]
    };
    let first = vars("");
    let first: Vec<(&str, &str)> = first
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    wait_ok(spawn_child("store", &first), "storing process");
    let second = vars(&out.to_string_lossy());
    let second: Vec<(&str, &str)> = second
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    wait_ok(spawn_child("load", &second), "loading process");
    assert_eq!(
        std::fs::read_to_string(&out).expect("child output"),
        "written by process one"
    );
}

/// Entry point of the child processes of the two tests above (selected by
/// `CAMEL_WASM_REDIS_CHILD`); in the normal test run, without that
/// variable, there is nothing for it to do.
#[test]
fn child_process() {
    let Ok(role) = std::env::var(CHILD_ENV) else {
        return;
    };
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} unset"));
    let (url, prefix, out) = (
        var("CAMEL_WASM_REDIS_URL"),
        var("CAMEL_WASM_REDIS_PREFIX"),
        var("CAMEL_WASM_REDIS_OUT"),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async move {
        match role.as_str() {
            "count" => count_child(&url, &prefix, &out).await,
            "store" | "load" => restart_child(&role, &url, &prefix, &out).await,
            other => panic!("unknown child role `{other}`"),
        }
    });
}

async fn count_child(url: &str, prefix: &str, out: &str) {
    let uri = format!(
        "wasm:{}?state={url}&state-prefix={prefix}&max-concurrent-calls={IN_FLIGHT}&timeout=10",
        file_name(guests::COUNTER)
    );
    let mut ctx = context(&[("count", uri, IN_FLIGHT)]).await;
    let per_lane = EXCHANGES_PER_PROCESS / IN_FLIGHT;
    let lanes: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let producer = producer(&ctx, "count");
            tokio::spawn(async move {
                let mut counts = Vec::with_capacity(per_lane);
                for _ in 0..per_lane {
                    let reply = send(&producer, Exchange::new_in_out(Message::new("x")))
                        .await
                        .expect("exchange");
                    let count = header(&reply, "count").and_then(Value::as_i64);
                    counts.push(count.expect("header `count`"));
                }
                counts
            })
        })
        .collect();
    let mut all = Vec::with_capacity(EXCHANGES_PER_PROCESS);
    for lane in lanes {
        all.extend(lane.await.expect("lane"));
    }
    let text: Vec<String> = all.iter().map(i64::to_string).collect();
    std::fs::write(out, text.join("\n")).expect("write counts");
    ctx.stop().await.expect("stop");
}

async fn restart_child(role: &str, url: &str, prefix: &str, out: &str) {
    let mut ctx = context(&[("app", state_ops_uri(url, prefix, ""), 1)]).await;
    let producer = producer(&ctx, "app");
    let headers: &[(&str, &str)] = if role == "store" {
        &[
            ("op", "store"),
            ("key", "greeting"),
            ("value", "written by process one"),
        ]
    } else {
        &[("op", "load"), ("key", "greeting")]
    };
    let reply = send(&producer, op(headers)).await.expect("exchange");
    assert_eq!(header(&reply, "error"), None);
    if role == "load" {
        let value = header(&reply, "value")
            .and_then(Value::as_str)
            .unwrap_or("<none>");
        std::fs::write(out, value).expect("write value");
    }
    ctx.stop().await.expect("stop");
}

/// `host-store-with-ttl`: the entry is there, then gone after its TTL, on
/// Redis (where the key carries a real `PX` expiry) and in memory alike.
#[tokio::test(flavor = "multi_thread")]
async fn ttl_entries_expire_on_both_backends() {
    let url = redis_url();
    let prefix = unique_prefix("ttl");
    let memory = format!("wasm:{}", file_name(guests::STATE_OPS));
    let ctx = context(&[
        ("redis", state_ops_uri(&url, &prefix, ""), 1),
        ("memory", memory, 1),
    ])
    .await;
    for route in ["redis", "memory"] {
        let p = producer(&ctx, route);
        let store = op(&[
            ("op", "store-ttl"),
            ("key", "k"),
            ("value", "v"),
            ("ttl-ms", "300"),
        ]);
        let reply = send(&p, store).await.unwrap();
        assert_eq!(header(&reply, "error"), None, "{route}");
        let reply = send(&p, op(&[("op", "load"), ("key", "k")])).await.unwrap();
        assert_eq!(header(&reply, "value"), Some(&Value::from("v")), "{route}");
        // A TTL of zero is refused.
        let zero = op(&[
            ("op", "store-ttl"),
            ("key", "z"),
            ("value", "v"),
            ("ttl-ms", "0"),
        ]);
        let reply = send(&p, zero).await.unwrap();
        assert_eq!(
            header(&reply, "error-kind"),
            Some(&Value::from("failed")),
            "{route}"
        );
    }
    let key = format!("{prefix}:route/redis/{}:k", file_name(guests::STATE_OPS));
    let pttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query(&mut inspect(&url))
        .unwrap();
    assert!((1..=300).contains(&pttl), "PTTL {pttl}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    for route in ["redis", "memory"] {
        let p = producer(&ctx, route);
        let reply = send(&p, op(&[("op", "load"), ("key", "k")])).await.unwrap();
        assert_eq!(
            header(&reply, "found"),
            Some(&Value::from(false)),
            "{route}"
        );
    }
}

/// `host-compare-and-set` on Redis: writes only over the expected value
/// (or absence), and a conflicting writer loses; `host-increment` on a
/// non-integer is a `type-conversion` error; over-long keys and values are
/// refused before anything is sent.
#[tokio::test(flavor = "multi_thread")]
async fn compare_and_set_conflicts_and_errors_on_redis() {
    let url = redis_url();
    let prefix = unique_prefix("cas");
    let uri = state_ops_uri(
        &url,
        &prefix,
        "&max-state-key-bytes=16&max-state-value-bytes=32",
    );
    let ctx = context(&[("cas", uri, 1)]).await;
    let p = producer(&ctx, "cas");
    let stored = |reply: &Exchange| header(reply, "stored").and_then(Value::as_bool);

    let first = send(&p, op(&[("op", "cas"), ("key", "k"), ("value", "a")]))
        .await
        .unwrap();
    assert_eq!(stored(&first), Some(true), "absent: stored");
    let again = send(&p, op(&[("op", "cas"), ("key", "k"), ("value", "b")]))
        .await
        .unwrap();
    assert_eq!(stored(&again), Some(false), "present: not stored");
    let stale = op(&[
        ("op", "cas"),
        ("key", "k"),
        ("expected", "x"),
        ("value", "b"),
    ]);
    assert_eq!(
        stored(&send(&p, stale).await.unwrap()),
        Some(false),
        "conflict"
    );
    let fresh = op(&[
        ("op", "cas"),
        ("key", "k"),
        ("expected", "a"),
        ("value", "b"),
    ]);
    assert_eq!(stored(&send(&p, fresh).await.unwrap()), Some(true), "match");
    let reply = send(&p, op(&[("op", "load"), ("key", "k")])).await.unwrap();
    assert_eq!(header(&reply, "value"), Some(&Value::from("b")));

    // Increment: a missing key counts as 0, a non-integer is refused.
    let reply = send(&p, op(&[("op", "increment"), ("key", "n"), ("delta", "5")]))
        .await
        .unwrap();
    assert_eq!(header(&reply, "value").and_then(Value::as_i64), Some(5));
    let reply = send(&p, op(&[("op", "increment"), ("key", "k")]))
        .await
        .unwrap();
    assert_eq!(
        header(&reply, "error-kind"),
        Some(&Value::from("type-conversion"))
    );

    // Caps, checked before sending: nothing reaches Redis.
    let long_key = "a-key-longer-than-16-bytes";
    let reply = send(
        &p,
        op(&[("op", "store"), ("key", long_key), ("value", "v")]),
    )
    .await
    .unwrap();
    assert_eq!(
        header(&reply, "error-kind"),
        Some(&Value::from("limit-exceeded"))
    );
    let big = "v".repeat(33);
    let reply = send(&p, op(&[("op", "store"), ("key", "big"), ("value", &big)]))
        .await
        .unwrap();
    assert_eq!(
        header(&reply, "error-kind"),
        Some(&Value::from("limit-exceeded"))
    );
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query(&mut inspect(&url))
        .unwrap();
    let mut keys: Vec<&str> = keys
        .iter()
        .map(|k| k.rsplit(':').next().unwrap_or_default())
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["k", "n"]);
}

/// Two endpoints never share state unless told to: two routes running the
/// same plugin, and the same plugin twice under different
/// `state-namespace`s, each count on their own; two endpoints given the
/// same `state-namespace` share theirs.
#[tokio::test(flavor = "multi_thread")]
async fn namespaces_of_two_endpoints_never_collide() {
    let url = redis_url();
    let prefix = unique_prefix("ns");
    let counter = |extra: &str| {
        format!(
            "wasm:{}?state={url}&state-prefix={prefix}{extra}",
            file_name(guests::COUNTER)
        )
    };
    let ctx = context(&[
        ("a", counter(""), 1),
        ("b", counter(""), 1),
        ("shared-1", counter("&state-namespace=team/counter"), 1),
        ("shared-2", counter("&state-namespace=team/counter"), 1),
    ])
    .await;
    let count = |route: &'static str| {
        let p = producer(&ctx, route);
        async move {
            let reply = send(&p, Exchange::new_in_out(Message::new("x")))
                .await
                .unwrap();
            header(&reply, "count").and_then(Value::as_i64).unwrap()
        }
    };
    assert_eq!(count("a").await, 1);
    assert_eq!(count("a").await, 2);
    assert_eq!(count("b").await, 1, "other route, same plugin: own state");
    assert_eq!(count("shared-1").await, 1);
    assert_eq!(count("shared-2").await, 2, "same state-namespace: shared");
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query(&mut inspect(&url))
        .unwrap();
    keys.sort_unstable();
    let wasm = file_name(guests::COUNTER);
    assert_eq!(
        keys,
        [
            format!("{prefix}:route/a/{wasm}:count"),
            format!("{prefix}:route/b/{wasm}:count"),
            format!("{prefix}:team/counter:count"),
        ]
    );
}

/// Redis stopped mid-run: exchanges fail at once with the typed `io`
/// error (`CamelError::Io` from the guest's error), within the call's
/// deadline, and health turns `Degraded`; after Redis is restarted on the
/// same port, exchanges succeed again without restarting anything.
#[tokio::test(flavor = "multi_thread")]
async fn redis_stopped_mid_run_fails_typed_and_recovers() {
    let mut redis = OwnRedis::start();
    let uri = format!(
        "wasm:{}?state={}&max-concurrent-calls={IN_FLIGHT}&timeout=2",
        file_name(guests::COUNTER),
        redis.url()
    );
    let ctx = context(&[("count", uri, IN_FLIGHT)]).await;
    let p = producer(&ctx, "count");
    let one = || send(&p, Exchange::new_in_out(Message::new("x")));
    for n in 1..=3 {
        let reply = one().await.expect("Redis up");
        assert_eq!(header(&reply, "count").and_then(Value::as_i64), Some(n));
    }
    assert_eq!(ctx.health_check().await.status, HealthStatus::Healthy);

    redis.kill();
    // 16 lanes at once while Redis is down: every exchange fails, typed, in
    // well under the 2 s timeout.
    let lanes: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let p = producer(&ctx, "count");
            tokio::spawn(async move {
                let started = Instant::now();
                let result = send(&p, Exchange::new_in_out(Message::new("x"))).await;
                (result, started.elapsed())
            })
        })
        .collect();
    for lane in lanes {
        let (result, took) = lane.await.unwrap();
        match result {
            Err(CamelError::Io(message)) => {
                assert!(message.contains("state backend"), "{message}")
            }
            other => panic!("expected the typed io error, got {other:?}"),
        }
        assert!(took < Duration::from_secs(2), "took {took:?}");
    }
    let report = ctx.health_check().await;
    assert_eq!(report.status, HealthStatus::Degraded, "{report:?}");

    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    let reply = loop {
        match one().await {
            Ok(reply) => break reply,
            Err(CamelError::Io(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(other) => panic!("not recovered: {other:?}"),
        }
    };
    // The restarted server kept nothing (no persistence): counting restarts.
    assert_eq!(header(&reply, "count").and_then(Value::as_i64), Some(1));
    assert_eq!(ctx.health_check().await.status, HealthStatus::Healthy);
}

/// A server that accepts connections but never answers: each state
/// operation ends with the typed `timeout` error before the plugin's own
/// deadline, so the guest still answers (and the exchange succeeds).
#[tokio::test(flavor = "multi_thread")]
async fn a_silent_server_gives_the_guest_a_timeout_within_its_deadline() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let uri = format!(
        "wasm:{}?state=redis://127.0.0.1:{port}&state-prefix=silent&timeout=0.5",
        file_name(guests::STATE_OPS)
    );
    let ctx = context(&[("silent", uri, 1)]).await;
    let p = producer(&ctx, "silent");
    let started = Instant::now();
    let reply = send(&p, op(&[("op", "increment"), ("key", "n")]))
        .await
        .expect("the guest answers");
    assert_eq!(header(&reply, "error-kind"), Some(&Value::from("timeout")));
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    silent.abort();
}
