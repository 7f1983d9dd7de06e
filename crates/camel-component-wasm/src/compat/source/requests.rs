//! The HTTP side of a `camel:plugin` source: requests wait for the guest's
//! `accept-http`, and the client is answered as rust-camel's own host
//! answers it, `202 Accepted` with the body `accepted`, once the guest has
//! taken the request and its body has streamed to the guest (as the guest,
//! or the route it passed the body to, reads it). Unlike there, the answer
//! waits for the body to be handed over whole, so that a client is told
//! when its body was cut: `413` past `max-stream-bytes`, `408` when it made
//! no progress for `stream-timeout`, `503` when the source stopped (the
//! guest's stream then ends with an `io` error).
//!
//! Bounded everywhere: at most `max-pending` requests are admitted at once
//! (the next gets `503` with `Retry-After`), and a request the guest does
//! not take within `timeout` gets `503`.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use camel_api::CamelError;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::source::edge_auth::{Caller, EdgeAuth};
use crate::source::listener::{Handler, ResponseBody, busy, plain};

/// Body pieces buffered between the client and the guest.
const BODY_PIECES: usize = 4;

/// One piece of a request body, or how it failed.
pub(super) type Piece = Result<Bytes, CamelError>;

/// A request waiting for the guest's `accept-http`.
pub(super) struct Pending {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) headers: Vec<(String, String)>,
    /// The body, as the client sends it.
    pub(super) body: mpsc::Receiver<Piece>,
    /// Why the body was cut, once it has been: read when `body` ends.
    pub(super) cut: Arc<OnceLock<String>>,
    /// Told when the guest takes the request (it is gone if the client
    /// gave up waiting).
    pub(super) taken: oneshot::Sender<()>,
    /// Who sent it (for a route that authenticates its callers).
    pub(super) caller: Caller,
}

/// Answers the requests of one source listener.
pub(super) struct Inbox {
    pub(super) requests: mpsc::Sender<Pending>,
    /// The only path served (none: all).
    pub(super) path: Option<String>,
    pub(super) admission: Arc<Semaphore>,
    pub(super) retry_after: Duration,
    /// How long a request may wait for the guest (`timeout`).
    pub(super) wait: Duration,
    /// `max-stream-bytes`.
    pub(super) max_body: usize,
    /// `stream-timeout`: the longest a body may go without progress.
    pub(super) idle: Duration,
    pub(super) stop: CancellationToken,
    /// Who may send requests.
    pub(super) auth: EdgeAuth,
}

impl Handler for Inbox {
    async fn handle(&self, request: Request<Incoming>) -> Response<ResponseBody> {
        if self
            .path
            .as_deref()
            .is_some_and(|path| request.uri().path() != path)
        {
            return plain(StatusCode::NOT_FOUND, "not found");
        }
        let Ok(_admitted) = self.admission.clone().try_acquire_owned() else {
            return busy("too many requests in progress", self.retry_after);
        };
        if self.stop.is_cancelled() {
            return busy("stopping", self.retry_after);
        }
        let (parts, body) = request.into_parts();
        // Before the body is read and before the plugin sees anything.
        let caller = match self.auth.authenticate(&parts.headers, &parts.uri).await {
            Ok(caller) => caller,
            Err(refused) => return refused,
        };
        let (pieces, received) = mpsc::channel(BODY_PIECES);
        let cut = Arc::new(OnceLock::new());
        // Until its body has ended whole, the request may be cut: then the
        // guest's stream ends with an error, never as if complete.
        let feeder = Feeder {
            pieces,
            cut: cut.clone(),
            done: false,
        };
        let (taken, was_taken) = oneshot::channel();
        let pending = Pending {
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
            headers: parts
                .headers
                .iter()
                .filter_map(|(name, value)| {
                    Some((name.as_str().to_string(), value.to_str().ok()?.to_string()))
                })
                .collect(),
            body: received,
            cut,
            taken,
            caller,
        };
        let handed = tokio::time::timeout(self.wait, async {
            self.requests.send(pending).await.ok()?;
            was_taken.await.ok()
        });
        tokio::select! {
            handed = handed => match handed {
                Ok(Some(())) => {}
                Ok(None) => return busy("the source is not running", self.retry_after),
                Err(_) => {
                    return busy("the source did not take the request in time", self.retry_after);
                }
            },
            () = self.stop.cancelled() => return busy("stopping", self.retry_after),
        }
        let limits = Limits {
            max: self.max_body,
            idle: self.idle,
        };
        let answer = match pump(body, feeder, limits, &self.stop).await {
            Ok(()) => return plain(StatusCode::ACCEPTED, "accepted"),
            Err(cut) => cut,
        };
        match answer {
            Cut::TooLong => plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body over max-stream-bytes",
            ),
            Cut::Idle => plain(
                StatusCode::REQUEST_TIMEOUT,
                "the request body made no progress",
            ),
            Cut::Stopping => busy("stopping", self.retry_after),
            Cut::Unread => plain(StatusCode::ACCEPTED, "accepted"),
            Cut::Client => plain(StatusCode::BAD_REQUEST, "could not read the request body"),
        }
    }

    fn stop(&self) -> &CancellationToken {
        &self.stop
    }
}

/// The bounds of one body.
struct Limits {
    max: usize,
    idle: Duration,
}

/// Why a body did not reach the guest whole.
enum Cut {
    /// Longer than `max-stream-bytes`.
    TooLong,
    /// No progress (client or guest) for `stream-timeout`.
    Idle,
    /// The source stopped.
    Stopping,
    /// The guest dropped the stream before its end: it did not want the
    /// rest (the request still counts as accepted).
    Unread,
    /// The client's body failed.
    Client,
}

/// The client's side of a request body on its way to the guest.
struct Feeder {
    pieces: mpsc::Sender<Piece>,
    cut: Arc<OnceLock<String>>,
    /// Whether the body ended whole.
    done: bool,
}

impl Feeder {
    /// Ends the guest's stream with an `io` error saying `why`.
    fn fail(&mut self, cut: Cut, why: String) -> Result<(), Cut> {
        tracing::debug!(reason = %why, "a source request body was cut");
        let _ = self.cut.set(why);
        self.done = true;
        Err(cut)
    }
}

impl Drop for Feeder {
    /// A body dropped before its end (its request was abandoned, by the
    /// handler or the connection) is cut, not complete.
    fn drop(&mut self) {
        if !self.done {
            let _ = self
                .cut
                .set("the request was abandoned before its body ended".to_string());
        }
    }
}

/// Moves the client's body to the guest's stream, piece by piece, within
/// `limits`. A cut body ends the guest's stream with an `io` error.
async fn pump(
    mut body: Incoming,
    mut feeder: Feeder,
    limits: Limits,
    stop: &CancellationToken,
) -> Result<(), Cut> {
    let idle_secs = limits.idle.as_secs_f64();
    let mut seen = 0usize;
    loop {
        let frame = tokio::select! {
            frame = tokio::time::timeout(limits.idle, body.frame()) => frame,
            () = stop.cancelled() => {
                return feeder.fail(Cut::Stopping, "the source is stopping".to_string());
            }
        };
        let data = match frame {
            Err(_) => {
                return feeder.fail(
                    Cut::Idle,
                    format!(
                        "the request body made no progress for {idle_secs:.3} s (stream-timeout)"
                    ),
                );
            }
            Ok(None) => {
                feeder.done = true;
                return Ok(());
            }
            Ok(Some(Err(err))) => {
                return feeder.fail(
                    Cut::Client,
                    format!("reading the request body failed: {err}"),
                );
            }
            Ok(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => data,
                // Trailers: not body bytes.
                Err(_) => continue,
            },
        };
        seen = seen.saturating_add(data.len());
        if seen > limits.max {
            return feeder.fail(
                Cut::TooLong,
                format!(
                    "the request body is longer than {} bytes (max-stream-bytes)",
                    limits.max
                ),
            );
        }
        let sent = tokio::select! {
            sent = tokio::time::timeout(limits.idle, feeder.pieces.send(Ok(data))) => sent,
            () = stop.cancelled() => {
                return feeder.fail(Cut::Stopping, "the source is stopping".to_string());
            }
        };
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(_)) => {
                feeder.done = true;
                return Err(Cut::Unread);
            }
            Err(_) => {
                return feeder.fail(
                    Cut::Idle,
                    format!(
                        "the source read nothing of the request body for {idle_secs:.3} s (stream-timeout)"
                    ),
                );
            }
        }
    }
}
