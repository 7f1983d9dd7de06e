//! Quick start: a real rust-camel route through two WASM plugins.
//!
//! `cargo run -p quickstart` builds the guests in `guests/` for
//! `wasm32-wasip2`, registers the `wasm:` component in a `CamelContext`,
//! runs `direct:greet → wasm:greet → wasm:audit`, sends a few exchanges and
//! prints what came back, including a typed error, then exits.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use camel_api::{Body, CamelError, Exchange, Message};
use camel_builder::{RouteBuilder, StepAccumulator};
use camel_component_api::{ComponentBundle, NoOpComponentContext, RuntimeObservability};
use camel_component_direct::DirectComponent;
use camel_component_wasm::WasmBundle;
use camel_core::{CamelContext, RegistryComponentContext};
use tower::ServiceExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            // rust-camel's direct consumer logs failed exchanges at ERROR;
            // this demo prints them itself.
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,camel_component_direct=off".into()),
        )
        .init();

    // Both plugins were built by build.rs into one directory.
    let plugins = built(guests::GREET)?
        .parent()
        .ok_or("the guest path has no directory")?;
    let greet = file_name(built(guests::GREET)?)?;
    let audit = file_name(built(guests::AUDIT)?)?;

    let mut ctx = CamelContext::builder().build().await?;
    let registry = Arc::new(RegistryComponentContext::new(
        ctx.registry_arc(),
        Some(ctx.metrics()),
        false,
    ));
    WasmBundle::new(plugins)
        .with_context(registry)
        .register_all(&mut ctx);
    ctx.register_component(DirectComponent::new());

    let route = RouteBuilder::from("direct:greet")
        .route_id("quickstart")
        .to(format!("wasm:{greet}?timeout=5"))
        .to(format!("wasm:{audit}"))
        .build()?;
    ctx.add_route_definition(route).await?;
    ctx.start().await?;
    println!("route `quickstart`: direct:greet -> wasm:{greet} -> wasm:{audit}");

    for name in ["Camel", "WebAssembly", "rust-camel"] {
        let reply = send(&ctx, Exchange::new_in_out(Message::new(name))).await?;
        let body = match &reply.input.body {
            Body::Text(text) => text.clone(),
            other => format!("{other:?}"),
        };
        println!(
            "  {name:<12} -> body {body:?}, greeted-by={}, audit-seq={}, property audited={}",
            show(reply.input.header("greeted-by")),
            show(reply.input.header("audit-seq")),
            show(reply.property("audited")),
        );
    }

    // The greet plugin needs text: a binary body that is not UTF-8 fails
    // that exchange with a typed error, and the route keeps working.
    let binary = Exchange::new_in_out(Message::new(Body::Bytes(vec![0xff, 0xfe].into())));
    match send(&ctx, binary).await {
        Ok(_) => println!("  unexpected: a binary body was accepted"),
        Err(err) => println!("  binary body  -> {} error: {err}", err.variant_name()),
    }
    let reply = send(&ctx, Exchange::new_in_out(Message::new("again"))).await?;
    println!(
        "  again        -> audit-seq={} (state kept in the host)",
        show(reply.input.header("audit-seq"))
    );

    ctx.stop().await?;
    println!("done");
    Ok(())
}

/// Paths of this example's guests (`GREET`, `AUDIT`), built by `build.rs`.
mod guests {
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));
}

/// A guest's `.wasm` file; without the `wasm32-wasip2` target, build.rs put
/// the reason in place of the path.
fn built(path: &'static str) -> Result<&'static Path, String> {
    let file = Path::new(path);
    if file.is_file() {
        Ok(file)
    } else {
        Err(format!("plugin not built: {path}"))
    }
}

fn file_name(path: &Path) -> Result<String, Box<dyn std::error::Error>> {
    Ok(path
        .file_name()
        .ok_or("the guest path has no file name")?
        .to_string_lossy()
        .into_owned())
}

fn show(value: Option<&camel_api::Value>) -> String {
    value.map_or_else(|| "<none>".to_string(), |v| v.to_string())
}

/// Sends an exchange into `direct:greet` and returns the route's reply.
/// rust-camel 0.64 has no producer template: create a direct producer, and
/// retry briefly while the route's consumer registers after `start()`.
async fn send(ctx: &CamelContext, exchange: Exchange) -> Result<Exchange, CamelError> {
    let rt: Arc<dyn RuntimeObservability> = Arc::new(NoOpComponentContext);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let direct = ctx
            .registry()
            .get("direct")
            .ok_or_else(|| CamelError::ComponentNotFound("direct".into()))?;
        let producer = direct
            .create_endpoint("direct:greet", ctx)?
            .create_producer(rt.clone(), &ctx.producer_context())?;
        match producer.oneshot(exchange.clone()).await {
            Err(CamelError::EndpointCreationFailed(m))
                if m.ends_with("not registered") && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            other => return other,
        }
    }
}
