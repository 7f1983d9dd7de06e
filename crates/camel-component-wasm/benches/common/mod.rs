//! What every bench needs: guest file names, a current-thread runtime, and
//! producers for `direct:` routes that wait for the route's consumer.
//! (`support/` is the route bench's own fixture.)

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use camel_api::{BoxProcessor, CamelError, Exchange};
use camel_component_api::{NoOpComponentContext, RuntimeObservability};
use camel_core::CamelContext;
use tower::ServiceExt;

/// The file name of a guest artifact (`…/echo.wasm` → `echo.wasm`), as a
/// `wasm:` URI names it.
pub(crate) fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .unwrap_or_else(|| panic!("not a guest path: {path}"))
        .to_string_lossy()
        .into_owned()
}

/// The directory the test guests were built in.
pub(crate) fn guest_dir() -> &'static Path {
    Path::new(camel_wasm_test_artifacts::ECHO)
        .parent()
        .expect("guest directory")
}

/// A tokio current-thread runtime with timers.
pub(crate) fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A producer for the `direct:` endpoint `uri`, created once and cloned
/// per call.
pub(crate) fn direct_producer(ctx: &CamelContext, uri: &str) -> BoxProcessor {
    let rt: Arc<dyn RuntimeObservability> = Arc::new(NoOpComponentContext);
    ctx.registry()
        .get("direct")
        .expect("direct registered")
        .create_endpoint(uri, ctx)
        .expect("direct endpoint")
        .create_producer(rt, &ctx.producer_context())
        .expect("direct producer")
}

/// [`direct_producer`], returned once an exchange made by `exchange` went
/// through (the route's consumer registers after `start()`: retried for up
/// to 10 s); returns the producer and that first reply.
pub(crate) async fn ready_producer(
    ctx: &CamelContext,
    uri: &str,
    exchange: impl Fn() -> Exchange,
) -> (BoxProcessor, Exchange) {
    let producer = direct_producer(ctx, uri);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match producer.clone().oneshot(exchange()).await {
            Ok(reply) => return (producer, reply),
            Err(CamelError::EndpointCreationFailed(m))
                if m.ends_with("not registered") && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Err(err) => panic!("{uri}: first exchange failed: {err}"),
        }
    }
}
