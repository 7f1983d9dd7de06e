//! Bean example: WASM beans declared in `Camel.toml`, called by `bean:` steps
//! of YAML routes, on a real rust-camel context.
//!
//! `cargo run -p beans-example` builds the `greetings` guest from source,
//! installs it as `plugins/greetings.wasm`, loads `Camel.toml` (profile from
//! `CAMEL_PROFILE`), registers the `[beans.*]` entries, adds
//! `routes/greetings.yaml`, sends a few exchanges, prints the replies, exits.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use camel_api::{Body, CamelError, Exchange, Message};
use camel_bean::BeanRegistry;
use camel_component_api::{NoOpComponentContext, RuntimeObservability};
use camel_component_direct::DirectComponent;
use camel_component_wasm::WasmBundle;
use camel_config::CamelConfig;
use camel_core::{CamelContext, RegistryComponentContext};
use tower::ServiceExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // camel-config warns that [prod] is unselected without CAMEL_PROFILE.
                .unwrap_or_else(|_| "warn,camel_config=error".into()),
        )
        .init();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));

    // Deploy step: put the freshly built plugin where Camel.toml expects it.
    std::fs::create_dir_all(root.join("plugins"))?;
    std::fs::copy(
        built(guests::GREETINGS)?,
        root.join("plugins/greetings.wasm"),
    )?;

    let config_path = root.join("Camel.toml");
    let config = CamelConfig::from_file(config_path.to_str().ok_or("non-UTF-8 path")?)?;

    // Beans must be registered before routes are added.
    let beans = Arc::new(Mutex::new(BeanRegistry::new()));
    let mut ctx = CamelContext::builder().beans(beans.clone()).build().await?;
    let registry = Arc::new(RegistryComponentContext::new(
        ctx.registry_arc(),
        Some(ctx.metrics()),
        false,
    ));
    let wasm = WasmBundle::from_camel_config(&config, root)?
        .with_context(registry)
        .build()?;
    ctx.register_component(wasm.clone());
    ctx.register_component(DirectComponent::new());
    let names = wasm.register_beans(&config, &beans).await?;
    println!("beans from Camel.toml: {}", names.join(", "));
    // Beans serve any route: their health checks go in under their own names.
    let health = ctx.health_registry();
    for check in wasm.health_checks() {
        let name = check.name().to_string();
        health.register_for_route(&name, check);
        health.mark_route_started(&name);
    }

    for route in camel_dsl::load_from_file(&root.join("routes/greetings.yaml"))? {
        ctx.add_route_definition(route).await?;
    }
    ctx.start().await?;

    for (route, body) in [
        ("greet", "Camel"),
        ("greet", "Ferris"),
        ("formal", "Ada"),
        ("stats", ""),
    ] {
        let reply = send(&ctx, route, body).await?;
        let text = match &reply.input.body {
            Body::Text(text) => text.clone(),
            other => format!("{other:?}"),
        };
        let greeted = reply
            .input
            .header("greeted")
            .map(|v| format!(" (greeted header: {v})"))
            .unwrap_or_default();
        println!("  direct:{route:<7} {body:?} -> {text:?}{greeted}");
    }

    for service in ctx.health_check().await.services {
        println!("  health {}: {:?}", service.name, service.status);
    }
    ctx.stop().await?;
    println!("done");
    Ok(())
}

/// The path of this example's guest (`GREETINGS`), built by `build.rs`.
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

/// Sends a text body into `direct:<route>` and returns the reply, retrying
/// briefly while the route's consumer registers after `start()`.
async fn send(ctx: &CamelContext, route: &str, body: &str) -> Result<Exchange, CamelError> {
    let rt: Arc<dyn RuntimeObservability> = Arc::new(NoOpComponentContext);
    let uri = format!("direct:{route}");
    let exchange = Exchange::new_in_out(Message::new(body));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let direct = ctx
            .registry()
            .get("direct")
            .ok_or_else(|| CamelError::ComponentNotFound("direct".into()))?;
        let producer = direct
            .create_endpoint(&uri, ctx)?
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
