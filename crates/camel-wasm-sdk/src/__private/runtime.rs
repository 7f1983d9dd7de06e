//! Runtime helpers called by the `#[plugin]` and `export_bean!` expansions.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::future::Future;
use std::io::Write as _;
use std::marker::PhantomData;
use std::panic::{Location, PanicHookInfo};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};
use std::task::{Context, Poll, Wake, Waker};

use super::convert::{body_into_wit, error_into_wit, exchange_from_wit, exchange_into_wit};
use super::{bean, policy, source, wit};
use crate::policy::{Decision, PermissionCheck, Principal, RouteCheck, Transport};
use crate::source::{Event, HttpRequest, HttpResponse, Outcome, SourcePlan};
use crate::{BeanPlugin, Exchange, PluginError, PolicyPlugin, SourcePlugin};

/// Installs (once) the panic hook that reports panics to the host.
///
/// The hook writes one line, `camel-wasm-panic: <message> at <file>:<line>`,
/// to stderr; the host captures guest stderr and turns that line into a
/// guest-panic error. The panic then aborts, which traps the instance.
pub fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| std::panic::set_hook(Box::new(report_panic)));
}

fn report_panic(info: &PanicHookInfo<'_>) {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("<non-string panic payload>");
    let line = panic_line(message, info.location());
    // Nothing sensible can be done if stderr is gone; never panic in a hook.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Formats the line the panic hook writes (newline included). Line breaks in
/// `message` are escaped so the report stays on one line.
pub fn panic_line(message: &str, location: Option<&Location<'_>>) -> String {
    let message = message.replace('\r', "\\r").replace('\n', "\\n");
    match location {
        Some(location) => format!(
            "camel-wasm-panic: {message} at {}:{}\n",
            location.file(),
            location.line()
        ),
        None => format!("camel-wasm-panic: {message} at <unknown>\n"),
    }
}

/// What an `init` function may return: `()` or `Result<(), E>` for any
/// displayable `E` (`String`, `&str`, [`PluginError`], …).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a valid return type for a plugin `init` function",
    label = "`init` must return `()` or `Result<(), E>` where `E: Display`"
)]
pub trait InitOutcome {
    /// Converts to the WIT `result<_, string>`.
    fn into_init_result(self) -> Result<(), String>;
}

impl InitOutcome for () {
    fn into_init_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: Display> InitOutcome for Result<(), E> {
    fn into_init_result(self) -> Result<(), String> {
        self.map_err(|error| error.to_string())
    }
}

/// The `init` used by `#[plugin]` without an `init = …` argument.
pub fn no_init() -> Result<(), String> {
    Ok(())
}

/// Runs a processor's `init` function.
pub fn run_init<F, R>(init: F) -> Result<(), String>
where
    F: FnOnce() -> R,
    R: InitOutcome,
{
    install_panic_hook();
    init().into_init_result()
}

/// Runs a synchronous processor function on a WIT exchange.
pub fn run_process<F, E>(exchange: wit::Exchange, process: F) -> Result<wit::Exchange, wit::Error>
where
    F: FnOnce(Exchange) -> Result<Exchange, E>,
    E: Into<PluginError>,
{
    install_panic_hook();
    into_wit_result(process(exchange_from_wit(exchange)))
}

/// Runs an `async` processor function on a WIT exchange (see [`block_on`]).
pub fn run_process_async<F, Fut, E>(
    exchange: wit::Exchange,
    process: F,
) -> Result<wit::Exchange, wit::Error>
where
    F: FnOnce(Exchange) -> Fut,
    Fut: Future<Output = Result<Exchange, E>>,
    E: Into<PluginError>,
{
    install_panic_hook();
    match block_on(process(exchange_from_wit(exchange))) {
        Some(result) => into_wit_result(result),
        None => Err(error_into_wit(PluginError::failed(
            "plugin future did not complete",
        ))),
    }
}

fn into_wit_result<E: Into<PluginError>>(
    result: Result<Exchange, E>,
) -> Result<wit::Exchange, wit::Error> {
    result
        .map(exchange_into_wit)
        .map_err(|error| error_into_wit(error.into()))
}

/// Records whether the future asked to be polled again.
struct WakeFlag(AtomicBool);

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Drives `future` to completion on the current thread.
///
/// Host calls are synchronous from the guest's point of view, so a plugin
/// future can only be pending if it waits for something that never happens.
/// The future is polled again as long as it wakes itself (e.g. a cooperative
/// yield); if it returns `Pending` without waking, `None` is returned.
pub fn block_on<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    let flag = Arc::new(WakeFlag(AtomicBool::new(false)));
    let waker = Waker::from(Arc::clone(&flag));
    let mut cx = Context::from_waker(&waker);
    loop {
        flag.0.store(false, Ordering::SeqCst);
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return Some(output),
            Poll::Pending if flag.0.load(Ordering::SeqCst) => continue,
            Poll::Pending => return None,
        }
    }
}

/// Calls a bean's `init` function (`export_bean!` with `init = …`).
pub fn call_bean_init<F, R>(init: F, config: BTreeMap<String, String>) -> Result<(), String>
where
    F: FnOnce(BTreeMap<String, String>) -> R,
    R: InitOutcome,
{
    init(config).into_init_result()
}

/// Calls one bean method function (`export_bean!` with a method table).
pub fn call_bean_method<F, E>(method: F, exchange: Exchange) -> Result<Exchange, PluginError>
where
    F: FnOnce(Exchange) -> Result<Exchange, E>,
    E: Into<PluginError>,
{
    method(exchange).map_err(Into::into)
}

/// The error for a method name the bean does not offer.
pub fn unknown_method(method: &str, known: &[&str]) -> PluginError {
    PluginError::not_found(format!(
        "unknown bean method `{method}`; available methods: {}",
        known.join(", ")
    ))
}

/// `body-source.next` for the export glue: the next piece of a body the
/// plugin produces.
pub fn body_source_next(id: u32, max: u32) -> Result<Option<Vec<u8>>, wit::Error> {
    crate::stream::next_piece(id, max).map_err(error_into_wit)
}

/// `body-source.cancel` for the export glue.
pub fn body_source_cancel(id: u32) {
    crate::stream::cancel(id);
}

/// Implements the generated `bean` world trait for any [`BeanPlugin`].
pub struct BeanAdapter<T>(PhantomData<T>);

impl<T> std::fmt::Debug for BeanAdapter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BeanAdapter")
    }
}

impl<T: BeanPlugin> bean::Guest for BeanAdapter<T> {
    fn init(config: Vec<(String, String)>) -> Result<(), String> {
        install_panic_hook();
        T::init(config.into_iter().collect())
    }

    fn methods() -> Vec<String> {
        install_panic_hook();
        T::methods().into_iter().map(str::to_owned).collect()
    }

    fn invoke(method: String, exchange: wit::Exchange) -> Result<wit::Exchange, wit::Error> {
        install_panic_hook();
        into_wit_result(T::invoke(&method, exchange_from_wit(exchange)))
    }
}

impl<T: BeanPlugin> bean::exports::camel::wasm::bean_body_source::Guest for BeanAdapter<T> {
    fn next(id: u32, max: u32) -> Result<Option<Vec<u8>>, wit::Error> {
        body_source_next(id, max)
    }

    fn cancel(id: u32) {
        body_source_cancel(id);
    }
}

/// Exports a [`PolicyPlugin`] as the `policy` world (`export_policy!`).
pub struct PolicyAdapter<T>(PhantomData<T>);

impl<T> std::fmt::Debug for PolicyAdapter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PolicyAdapter")
    }
}

use policy::camel::wasm::policy_types as wit_policy;

impl<T: PolicyPlugin> policy::Guest for PolicyAdapter<T> {
    fn init(config: Vec<(String, String)>) -> Result<(), String> {
        install_panic_hook();
        T::init(config.into_iter().collect())
    }

    fn evaluate(check: wit_policy::Check) -> Result<wit_policy::Decision, wit::Error> {
        install_panic_hook();
        let decision = match check {
            wit_policy::Check::Route(check) => T::check_route(RouteCheck {
                principal: principal_from_wit(check.principal),
                provider: check.provider,
                transport: match check.transport {
                    wit_policy::Transport::Http => Transport::Http,
                    wit_policy::Transport::Ws => Transport::Ws,
                    wit_policy::Transport::Grpc => Transport::Grpc,
                    wit_policy::Transport::Mcp => Transport::Mcp,
                    wit_policy::Transport::Wasm => Transport::Wasm,
                },
                exchange: exchange_from_wit(check.exchange),
            }),
            wit_policy::Check::Permission(check) => T::check_permission(PermissionCheck {
                principal: principal_from_wit(check.principal),
                resource: check.resource,
                action: check.action,
                scopes: check.scopes,
                context: check.context,
            }),
        };
        match decision {
            Ok(Decision::Grant) => Ok(wit_policy::Decision::Grant),
            Ok(Decision::Deny(reason)) => Ok(wit_policy::Decision::Deny(reason)),
            Err(error) => Err(error_into_wit(error)),
        }
    }
}

/// Exports a [`SourcePlugin`] as the `source` world (`export_source!`).
pub struct SourceAdapter<T>(PhantomData<T>);

impl<T> std::fmt::Debug for SourceAdapter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SourceAdapter")
    }
}

use source::camel::wasm::source_types as wit_source;

impl<T: SourcePlugin> source::Guest for SourceAdapter<T> {
    fn init() -> Result<(), String> {
        install_panic_hook();
        T::init()
    }

    fn plan() -> Result<wit_source::SourcePlan, wit::Error> {
        install_panic_hook();
        let plan: SourcePlan = T::plan().map_err(error_into_wit)?;
        Ok(wit_source::SourcePlan {
            http: plan.http.map(|path| wit_source::HttpListener { path }),
            timer: plan.timer.map(|timer| wit_source::Timer {
                period_ms: u32::try_from(timer.period.as_millis())
                    .unwrap_or(u32::MAX)
                    .max(1),
                times: timer.times,
            }),
        })
    }

    fn on_event(event: wit_source::Event) -> Result<wit_source::Outcome, wit::Error> {
        install_panic_hook();
        let event = match event {
            wit_source::Event::Http(request) => Event::Http(HttpRequest {
                method: request.method,
                path: request.path,
                query: request.query,
                headers: request.headers,
                body: crate::__private::body_from_wit(request.body).into_bytes(),
            }),
            wit_source::Event::Tick(n) => Event::Tick(n),
        };
        match T::on_event(event).map_err(error_into_wit)? {
            Outcome::Submit(exchange) => {
                Ok(wit_source::Outcome::Submit(exchange_into_wit(exchange)))
            }
            Outcome::Respond(response) => {
                Ok(wit_source::Outcome::Respond(response_into_wit(response)))
            }
            Outcome::Skip => Ok(wit_source::Outcome::Skip),
        }
    }

    fn on_reply(reply: wit::Exchange) -> Result<wit_source::HttpResponse, wit::Error> {
        install_panic_hook();
        T::on_reply(exchange_from_wit(reply))
            .map(response_into_wit)
            .map_err(error_into_wit)
    }
}

fn response_into_wit(response: HttpResponse) -> wit_source::HttpResponse {
    wit_source::HttpResponse {
        status: response.status,
        headers: response.headers,
        body: response.body.map(body_into_wit),
    }
}

fn principal_from_wit(principal: wit_policy::Principal) -> Principal {
    Principal {
        subject: principal.subject,
        issuer: principal.issuer,
        audience: principal.audience,
        scopes: principal.scopes,
        roles: principal.roles,
        claims: principal.claims,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Body, Message};

    fn wit_exchange(body: &str) -> wit::Exchange {
        exchange_into_wit(Exchange::new(Message::new(body)))
    }

    #[test]
    fn panic_line_format() {
        let location = Location::caller();
        let line = panic_line("boom:\ntwo lines", Some(location));
        assert_eq!(
            line,
            format!(
                "camel-wasm-panic: boom:\\ntwo lines at {}:{}\n",
                location.file(),
                location.line()
            )
        );
        assert_eq!(panic_line("x", None), "camel-wasm-panic: x at <unknown>\n");
    }

    #[test]
    fn init_outcomes() {
        assert_eq!(run_init(|| ()), Ok(()));
        assert_eq!(run_init(no_init), Ok(()));
        assert_eq!(run_init(|| Err::<(), _>("bad")), Err("bad".to_owned()));
        assert_eq!(
            run_init(|| Err::<(), _>(PluginError::denied("no"))),
            Err("denied: no".to_owned())
        );
    }

    #[test]
    fn process_maps_results() {
        let ok = run_process(wit_exchange("a"), |mut exchange: Exchange| {
            exchange.set_body("b");
            Ok::<_, PluginError>(exchange)
        })
        .unwrap();
        assert_eq!(exchange_from_wit(ok).body(), &Body::from("b"));

        let err = run_process(wit_exchange("a"), |_| Err::<Exchange, _>("nope")).unwrap_err();
        assert!(matches!(err, wit::Error::Failed(m) if m == "nope"));
    }

    #[test]
    fn block_on_ready_and_yielding_futures() {
        assert_eq!(block_on(async { 1 + 1 }), Some(2));

        // Wakes itself once, then completes: must be polled again.
        let mut yielded = false;
        let yield_once = std::future::poll_fn(move |cx| {
            if yielded {
                Poll::Ready(7)
            } else {
                yielded = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        });
        assert_eq!(block_on(yield_once), Some(7));

        assert_eq!(block_on(std::future::pending::<()>()), None);
    }

    #[test]
    fn async_process_that_never_completes() {
        let err = run_process_async(wit_exchange("a"), |_| async {
            std::future::pending::<()>().await;
            Ok::<Exchange, PluginError>(Exchange::default())
        })
        .unwrap_err();
        assert!(matches!(err, wit::Error::Failed(m) if m == "plugin future did not complete"));
    }

    #[test]
    fn unknown_method_lists_methods() {
        let error = unknown_method("nope", &["a", "b"]);
        assert_eq!(error.kind(), "not-found");
        assert_eq!(
            error.message(),
            "unknown bean method `nope`; available methods: a, b"
        );
    }
}
