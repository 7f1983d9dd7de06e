//! Bounding a future by a wall-clock deadline, without paying for a timer
//! when the future finishes at once.
//!
//! Most guest calls complete in their first poll (the guest computes, and
//! nothing it calls waits). `tokio::time::timeout` would still build a timer
//! entry for each of them; [`within`] polls the future first and only arms a
//! timer once it has returned `Pending`.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::Poll;

use tokio::time::{Instant, Sleep};

/// The deadline passed before the future finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Elapsed;

/// Runs `future` until it finishes or `deadline` passes, whichever is
/// first; the future is dropped at the deadline.
pub(crate) async fn within<F: Future>(deadline: Instant, future: F) -> Result<F::Output, Elapsed> {
    let mut future = pin!(future);
    let mut timer: Option<Pin<Box<Sleep>>> = None;
    poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        let timer = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        timer.as_mut().poll(cx).map(|()| Err(Elapsed))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn a_ready_future_needs_no_timer_and_a_slow_one_is_cut() {
        let now = Instant::now();
        assert_eq!(within(now, async { 7 }).await, Ok(7));
        let slow = within(now + Duration::from_secs(1), std::future::pending::<()>());
        assert_eq!(slow.await, Err(Elapsed));
        assert!(Instant::now() >= now + Duration::from_secs(1));
        let quick = within(now + Duration::from_secs(10), async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            1
        });
        assert_eq!(quick.await, Ok(1));
    }
}
