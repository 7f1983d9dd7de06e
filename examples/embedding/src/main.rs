//! The minimal rust-camel application with a WASM plugin step:
//! `direct:in -> wasm:shout.wasm -> log:out`.
//!
//! `cargo run -p embedding` builds the `shout` plugin (`guests/shout`) for
//! `wasm32-wasip2`, starts a `CamelContext` with the `direct:`, `log:` and
//! `wasm:` components, sends one exchange into `direct:in`, prints the
//! reply and stops. The README's "Using it in a rust-camel application"
//! shows this file (a test below keeps the two equal).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use camel_api::{CamelError, Exchange, Message};
use camel_builder::{RouteBuilder, StepAccumulator};
use camel_component_api::{ComponentBundle, NoOpComponentContext, RuntimeObservability};
use camel_component_direct::DirectComponent;
use camel_component_log::LogComponent;
use camel_component_wasm::WasmBundle;
use camel_core::{CamelContext, RegistryComponentContext};
use tower::ServiceExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `log:` steps and the plugins' stdout/stderr are `tracing` events.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,camel_component_log=info".into()),
        )
        .init();

    // `wasm:` paths resolve inside this directory: in your application your
    // plugins directory, e.g. `Path::new("plugins")`; in this example the
    // directory build.rs built `shout.wasm` into.
    let plugins_dir: &Path = example_plugins_dir()?;

    let mut ctx = CamelContext::builder().build().await?;
    ctx.register_component(DirectComponent::new());
    ctx.register_component(LogComponent::new());
    // The plugins' `camel-call` needs a long-lived view of the registry.
    let registry = Arc::new(RegistryComponentContext::new(
        ctx.registry_arc(),
        Some(ctx.metrics()),
        false,
    ));
    WasmBundle::new(plugins_dir)
        .with_context(registry)
        .register_all(&mut ctx);

    let route = RouteBuilder::from("direct:in")
        .route_id("shout")
        .to("wasm:shout.wasm?timeout=5")
        .to("log:out?showHeaders=true")
        .build()?;
    ctx.add_route_definition(route).await?;
    ctx.start().await?;

    let reply = request(&ctx, "direct:in", "hello from rust-camel").await?;
    let body = reply.input.body.as_text().unwrap_or_default();
    let shouted = reply.input.header("shouted").and_then(|v| v.as_str());
    println!("reply: {body:?}, header shouted = {shouted:?}");

    ctx.stop().await?;
    Ok(())
}

/// Sends `body` into a `direct:` endpoint as an InOut exchange and returns
/// the route's reply. rust-camel 0.64 has no producer template, so this
/// creates a `direct:` producer, retrying briefly while the route's consumer
/// registers after `start()`.
async fn request(ctx: &CamelContext, uri: &str, body: &str) -> Result<Exchange, CamelError> {
    let rt: Arc<dyn RuntimeObservability> = Arc::new(NoOpComponentContext);
    let exchange = Exchange::new_in_out(Message::new(body));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let direct = ctx
            .registry()
            .get("direct")
            .ok_or_else(|| CamelError::ComponentNotFound("direct".into()))?;
        let producer = direct
            .create_endpoint(uri, ctx)?
            .create_producer(rt.clone(), &ctx.producer_context())?;
        match producer.oneshot(exchange.clone()).await {
            Err(CamelError::EndpointCreationFailed(message))
                if message.ends_with("not registered")
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            reply => return reply,
        }
    }
}

// ---- example only (not in the README): where build.rs put the plugin ----

/// The path of the plugin built by `build.rs` (`SHOUT`).
mod guests {
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));
}

/// The directory holding `shout.wasm`, built by `build.rs`. Without the
/// `wasm32-wasip2` target, build.rs put the reason in place of the path.
fn example_plugins_dir() -> Result<&'static Path, String> {
    let file = Path::new(guests::SHOUT);
    match file.parent() {
        Some(dir) if file.is_file() => Ok(dir),
        _ => Err(format!("plugin not built: {}", guests::SHOUT)),
    }
}

#[cfg(test)]
mod tests {
    /// The README shows this file up to the "example only" line.
    #[test]
    fn readme_shows_this_code() {
        let source = include_str!("main.rs");
        let start = source.find("use std::path::Path;").unwrap();
        let end = source.find("// ---- example only").unwrap();
        let shown = source[start..end].trim_end();
        let readme = include_str!("../../../README.md");
        assert!(
            readme.contains(shown),
            "README.md must show examples/embedding/src/main.rs from its first `use` \
             to the `// ---- example only` line, verbatim:\n\n{shown}"
        );
    }
}
