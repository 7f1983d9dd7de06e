//! `{{name}}`: a camel-wasm source plugin (world `source`): it starts a
//! route, `from: wasm:{{name}}.wasm?allow-timer=true`. This one ticks every
//! second; a webhook asks for `SourcePlan::http("/path")` instead and is
//! granted an address with `?listen=127.0.0.1:8080`.

use std::time::Duration;

use camel_wasm_sdk::{
    Event, Exchange, Message, Outcome, PluginError, SourcePlan, SourcePlugin, export_source,
};

struct {{Type}};

impl SourcePlugin for {{Type}} {
    fn plan() -> Result<SourcePlan, PluginError> {
        // Every second, without end (`Some(n)`: n times).
        Ok(SourcePlan::timer(Duration::from_secs(1), None))
    }

    fn on_event(event: Event) -> Result<Outcome, PluginError> {
        match event {
            Event::Tick(n) => Ok(Outcome::Submit(Exchange::new(
                Message::new(format!("tick {n} from {{name}}")).with_header("tick", n),
            ))),
            Event::Http(request) => Ok(Outcome::Submit(request.into_exchange())),
        }
    }
}

export_source!({{Type}});
