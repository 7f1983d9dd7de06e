//! One context per language: the guest's processor in a route, a helper
//! route its `camel-call` may reach, and its bean registered twice (with and
//! without the config key its `init` requires).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use camel_api::{CamelError, Exchange};
use camel_bean::BeanRegistry;
use camel_builder::{RouteBuilder, StepAccumulator};
use camel_component_direct::DirectComponent;
use camel_component_wasm::{WasmBean, WasmBundle, WasmComponent, WasmError};
use camel_core::{CamelContext, RegistryComponentContext};
use camel_wasm_polyglot_artifacts as polyglot;
use camel_wasm_test_artifacts as rust;

use crate::support::{send_direct, shared_runtime};

/// A language's conformance guests.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Guest {
    pub(crate) language: &'static str,
    /// The processor (`processor` world).
    processor: &'static str,
    /// The bean (`bean` world).
    bean: &'static str,
}

impl Guest {
    pub(crate) const RUST: Guest = Guest {
        language: "Rust",
        processor: rust::CONFORMANCE,
        bean: rust::CONFORMANCE_BEAN,
    };
    pub(crate) const PYTHON: Guest = Guest {
        language: "Python",
        processor: polyglot::PYTHON_CONFORMANCE,
        bean: polyglot::PYTHON_CONFORMANCE_BEAN,
    };
    pub(crate) const JAVASCRIPT: Guest = Guest {
        language: "JavaScript",
        processor: polyglot::JS_CONFORMANCE,
        bean: polyglot::JS_CONFORMANCE_BEAN,
    };
}

/// The plugins directory: every conformance guest, the helper route's
/// `uppercase` and the examples' plugins copied into one directory, once per
/// test binary.
pub(crate) fn plugins_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // Under the target dir, the same path every run, so runs leave
        // nothing behind in /tmp (the guests weigh ~90 MB together).
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("conformance-plugins");
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for guest in [Guest::RUST, Guest::PYTHON, Guest::JAVASCRIPT] {
            for artifact in [guest.processor, guest.bean] {
                copy_in(&dir, artifact);
            }
        }
        for artifact in [
            rust::UPPERCASE,
            polyglot::EXAMPLE_PYTHON_SHOUT,
            polyglot::EXAMPLE_JS_SHOUT,
        ] {
            copy_in(&dir, artifact);
        }
        dir
    })
}

fn copy_in(dir: &Path, artifact: &str) {
    let from = Path::new(artifact);
    let name = from
        .file_name()
        .unwrap_or_else(|| panic!("not a guest path: {artifact}"));
    // Copy then rename, so a concurrent run never loads a half-written file.
    let partial = dir.join(format!(
        "{}.partial-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    std::fs::copy(from, &partial).unwrap_or_else(|e| panic!("{artifact}: {e}"));
    std::fs::rename(&partial, dir.join(name)).unwrap_or_else(|e| panic!("{artifact}: {e}"));
}

pub(crate) fn file_name(artifact: &str) -> String {
    Path::new(artifact)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A started context for one language.
pub(crate) struct Harness {
    pub(crate) guest: Guest,
    ctx: CamelContext,
    component: WasmComponent,
    /// The bean configured with `greeting=hi, extra=x`.
    pub(crate) bean: WasmBean,
}

/// The processor route: `direct:conf -> wasm:<processor> -> mock:conf`.
pub(crate) const PROCESSOR_ROUTE: &str = "conf";

impl Harness {
    pub(crate) async fn start(guest: Guest) -> Harness {
        let dir = plugins_dir();
        let beans = Arc::new(Mutex::new(BeanRegistry::new()));
        let mut ctx = CamelContext::builder()
            .beans(beans.clone())
            .build()
            .await
            .expect("context");
        let registry = Arc::new(RegistryComponentContext::new(
            ctx.registry_arc(),
            Some(ctx.metrics()),
            false,
        ));
        let component = WasmBundle::new(dir)
            .with_runtime(shared_runtime())
            .with_context(registry)
            .build()
            .expect("wasm component");
        ctx.register_component(component.clone());
        ctx.register_component(DirectComponent::new());
        ctx.register_component(camel_component_mock::MockComponent::new());

        let bean = component
            .bean(
                "conformance",
                &file_name(guest.bean).replace(".wasm", ""),
                [("greeting", "hi"), ("extra", "x")].map(|(k, v)| (k.to_owned(), v.to_owned())),
                Default::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("{} bean: {e}", guest.language));
        beans
            .lock()
            .expect("bean registry")
            .register("conformance", bean.clone())
            .expect("register bean");

        let processor = format!(
            "wasm:{}?allow-call=direct:helper&timeout=10",
            file_name(guest.processor)
        );
        let routes = [
            RouteBuilder::from("direct:conf")
                .route_id(PROCESSOR_ROUTE)
                .to(processor)
                .to("mock:conf")
                .build(),
            RouteBuilder::from("direct:helper")
                .route_id("helper")
                .to(format!("wasm:{}", file_name(rust::UPPERCASE)))
                .build(),
            RouteBuilder::from("direct:forbidden")
                .route_id("forbidden")
                .to("mock:forbidden")
                .build(),
            RouteBuilder::from("direct:greet")
                .route_id("greet")
                .bean("conformance", "greet")
                .build(),
            RouteBuilder::from("direct:config")
                .route_id("config")
                .bean("conformance", "config")
                .build(),
        ];
        for route in routes {
            ctx.add_route_definition(route.expect("route"))
                .await
                .unwrap_or_else(|e| panic!("{} route: {e}", guest.language));
        }
        ctx.start().await.expect("start");
        Harness {
            guest,
            ctx,
            component,
            bean,
        }
    }

    /// Sends `exchange` into `direct:<route>`.
    pub(crate) async fn send(
        &self,
        route: &str,
        exchange: Exchange,
    ) -> Result<Exchange, CamelError> {
        send_direct(&self.ctx, &format!("direct:{route}"), exchange).await
    }

    /// Loads the language's bean with `config`.
    pub(crate) async fn load_bean(&self, config: &[(&str, &str)]) -> Result<WasmBean, WasmError> {
        self.component
            .bean(
                "conformance-extra",
                &file_name(self.guest.bean).replace(".wasm", ""),
                config
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
                Default::default(),
            )
            .await
    }
}
