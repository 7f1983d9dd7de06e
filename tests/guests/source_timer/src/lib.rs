//! Test guest `source_timer`: a timer source that fires five times, 20 ms
//! apart; each tick sends a one-way exchange with the body `tick <n>` and
//! the header `tick`.

use std::time::Duration;

use camel_wasm_sdk::{
    Event, Exchange, Message, Outcome, PluginError, SourcePlan, SourcePlugin, export_source,
};

struct Ticker;

impl SourcePlugin for Ticker {
    fn plan() -> Result<SourcePlan, PluginError> {
        Ok(SourcePlan::timer(Duration::from_millis(20), Some(5)))
    }

    fn on_event(event: Event) -> Result<Outcome, PluginError> {
        match event {
            Event::Tick(n) => Ok(Outcome::Submit(Exchange::new(
                Message::new(format!("tick {n}")).with_header("tick", n),
            ))),
            Event::Http(_) => Ok(Outcome::Skip),
        }
    }
}

export_source!(Ticker);
