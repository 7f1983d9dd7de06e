//! The timer of a source: a `tick(n)` event every period, its exchange
//! sent through the route and waited for, so ticks never pile up behind a
//! slow route (a tick that comes due meanwhile is delayed, not queued).

use std::time::Duration;

use camel_component_api::ConsumerContext;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::bindings::wit_source;
use crate::source::guest::{Outcome, SourceGuest};

/// Fires `times` ticks (forever if `None`), one `period` apart, the first
/// one period after the start.
pub(crate) async fn run(
    guest: SourceGuest,
    ctx: ConsumerContext,
    period: Duration,
    times: Option<u32>,
    stop: CancellationToken,
) {
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut n: u64 = 0;
    while times.is_none_or(|times| n < u64::from(times)) {
        tokio::select! {
            _ = interval.tick() => {}
            () = stop.cancelled() => return,
        }
        n += 1;
        match guest.on_event(&wit_source::Event::Tick(n)).await {
            Ok(Outcome::Submit(exchange)) => {
                if let Err(err) = ctx.send_and_wait(*exchange).await {
                    tracing::debug!(tick = n, error = %err, "route failed a timer exchange");
                }
            }
            Ok(Outcome::Respond(_) | Outcome::Skip) => {}
            Err(err) => {
                tracing::warn!(
                    tick = n,
                    error = %crate::error::error_chain(&err),
                    "source plugin failed a tick"
                );
            }
        }
    }
}
