//! The HTTP server under every source listener: hyper on a bound
//! `TcpListener`, each request given to a [`Handler`], and a graceful stop.
//!
//! Stopping closes the listener (the port is free again), lets requests in
//! flight finish for up to `grace` and then cuts them. The response helpers
//! here are shared by the handlers of both contracts' sources.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// A response body: whole or streamed.
pub(crate) type ResponseBody = UnsyncBoxBody<Bytes, std::io::Error>;

/// What answers the requests of one listener.
pub(crate) trait Handler: Send + Sync + 'static {
    /// Answers one request.
    fn handle(
        &self,
        request: Request<Incoming>,
    ) -> impl Future<Output = Response<ResponseBody>> + Send;

    /// Cancelled when the listener must stop.
    fn stop(&self) -> &CancellationToken;
}

/// Serves `listener` with `handler` until its stop token is cancelled, then
/// drains for up to `grace`.
pub(crate) async fn serve<H: Handler>(listener: TcpListener, handler: Arc<H>, grace: Duration) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let handler = handler.clone();
                    let service = service_fn(move |request| {
                        let handler = handler.clone();
                        async move { Ok::<_, Infallible>(handler.handle(request).await) }
                    });
                    // The timer makes hyper enforce its header read timeout
                    // (30 s): a client that never finishes its headers does
                    // not hold a connection forever.
                    let connection = http1::Builder::new()
                        .timer(hyper_util::rt::TokioTimer::new())
                        .serve_connection(TokioIo::new(stream), service);
                    let connection = graceful.watch(connection);
                    connections.spawn(async move {
                        if let Err(err) = connection.await {
                            tracing::debug!(error = %err, "http connection ended with an error");
                        }
                    });
                }
                Err(err) => {
                    // Out of file descriptors, say: back off a little.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = handler.stop().cancelled() => break,
        }
    }
    let address = listener.local_addr().ok();
    drop(listener);
    tracing::debug!(?address, "source listener closed");
    let drained = tokio::time::timeout(grace, async {
        graceful.shutdown().await;
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            grace_secs = grace.as_secs_f64(),
            "requests still in flight after the grace period were cut"
        );
        connections.abort_all();
    }
}

/// `503 Service Unavailable` saying `why`, with `Retry-After`.
pub(crate) fn busy(why: &'static str, retry_after: Duration) -> Response<ResponseBody> {
    let mut response = plain(StatusCode::SERVICE_UNAVAILABLE, why);
    let secs = retry_after.as_secs_f64().ceil().max(0.0) as u64;
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(secs));
    response
}

/// A response with a short text body.
pub(crate) fn plain(status: StatusCode, text: &str) -> Response<ResponseBody> {
    let mut response = Response::new(whole(Bytes::copy_from_slice(text.as_bytes())));
    *response.status_mut() = status;
    if !text.is_empty() {
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    response
}

/// A whole response body.
pub(crate) fn whole(bytes: Bytes) -> ResponseBody {
    Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}
