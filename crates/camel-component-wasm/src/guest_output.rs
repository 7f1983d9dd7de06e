//! Guest stdout/stderr: forwarded to `tracing` line by line, size-capped,
//! and watched for the SDK's panic line.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

use crate::guest_text;

/// Bytes of guest output logged per call; the rest is counted and dropped.
const MAX_LOGGED_BYTES_PER_CALL: usize = 64 * 1024;
/// Longest line kept; longer lines are cut.
const MAX_LINE_BYTES: usize = 4 * 1024;
/// The line the SDK's panic hook writes before the guest aborts.
const SDK_PANIC_PREFIX: &str = "camel-wasm-panic: ";

/// Which guest stream a line came from.
#[derive(Debug, Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// Output captured from one instance.
#[derive(Debug)]
struct Capture {
    plugin: Arc<str>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    logged: usize,
    dropped: usize,
    panic_message: Option<String>,
    /// Set after std's default "panicked at" line: the message follows.
    std_panic_pending: bool,
}

/// Shared handle to an instance's captured output.
#[derive(Debug, Clone)]
pub(crate) struct GuestOutput(Arc<Mutex<Capture>>);

impl GuestOutput {
    pub(crate) fn new(plugin: Arc<str>) -> Self {
        GuestOutput(Arc::new(Mutex::new(Capture {
            plugin,
            stdout: Vec::new(),
            stderr: Vec::new(),
            logged: 0,
            dropped: 0,
            panic_message: None,
            std_panic_pending: false,
        })))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Capture> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Resets the per-call budget and panic state.
    pub(crate) fn begin_call(&self) {
        let mut c = self.lock();
        c.logged = 0;
        c.dropped = 0;
        c.panic_message = None;
        c.std_panic_pending = false;
    }

    /// Flushes partial lines and reports dropped output.
    pub(crate) fn end_call(&self) {
        let mut c = self.lock();
        for stream in [Stream::Stdout, Stream::Stderr] {
            let rest = std::mem::take(c.buffer(stream));
            if !rest.is_empty() {
                c.line(stream, &rest);
            }
        }
        if c.dropped > 0 {
            tracing::warn!(
                target: "camel_wasm::guest",
                plugin = %c.plugin,
                dropped_bytes = c.dropped,
                "guest output over the per-call cap was dropped"
            );
            c.dropped = 0;
        }
    }

    /// The panic message the guest reported during this call, if any.
    pub(crate) fn take_panic_message(&self) -> Option<String> {
        let mut c = self.lock();
        // A panic line may still sit in the buffer if the guest aborted
        // before writing the newline.
        for stream in [Stream::Stderr, Stream::Stdout] {
            let rest = std::mem::take(c.buffer(stream));
            if !rest.is_empty() {
                c.line(stream, &rest);
            }
        }
        c.panic_message.take()
    }

    pub(crate) fn stdout(&self) -> GuestStream {
        GuestStream {
            output: self.clone(),
            stream: Stream::Stdout,
        }
    }

    pub(crate) fn stderr(&self) -> GuestStream {
        GuestStream {
            output: self.clone(),
            stream: Stream::Stderr,
        }
    }

    fn write(&self, stream: Stream, bytes: &[u8]) {
        let mut c = self.lock();
        let mut rest = bytes;
        while let Some(pos) = rest.iter().position(|b| *b == b'\n') {
            let (head, tail) = rest.split_at(pos);
            let mut line = std::mem::take(c.buffer(stream));
            append_capped(&mut line, head);
            c.line(stream, &line);
            rest = &tail[1..];
        }
        append_capped(c.buffer(stream), rest);
    }
}

fn append_capped(buf: &mut Vec<u8>, bytes: &[u8]) {
    let room = MAX_LINE_BYTES.saturating_sub(buf.len());
    buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

impl Capture {
    fn buffer(&mut self, stream: Stream) -> &mut Vec<u8> {
        match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        }
    }

    fn line(&mut self, stream: Stream, raw: &[u8]) {
        let line = String::from_utf8_lossy(raw);
        let line = line.trim_end_matches('\r');
        if let Some(message) = line.strip_prefix(SDK_PANIC_PREFIX) {
            self.panic_message = Some(message.to_string());
            self.std_panic_pending = false;
        } else if self.std_panic_pending {
            // std's hook: "thread '..' panicked at file:line:col:" then the message.
            if self.panic_message.is_none() {
                self.panic_message = Some(line.to_string());
            }
            self.std_panic_pending = false;
        } else if line.starts_with("thread '") && line.contains("panicked at") {
            self.std_panic_pending = true;
        }
        if self.logged + line.len() > MAX_LOGGED_BYTES_PER_CALL {
            self.dropped += line.len();
            return;
        }
        self.logged += line.len();
        // A guest must not be able to forge log lines or terminal escapes.
        let line = guest_text::sanitize(line, MAX_LINE_BYTES);
        tracing::info!(
            target: "camel_wasm::guest",
            plugin = %self.plugin,
            stream = stream.name(),
            "{line}"
        );
    }
}

/// One of an instance's output streams, as handed to WASI.
#[derive(Debug, Clone)]
pub(crate) struct GuestStream {
    output: GuestOutput,
    stream: Stream,
}

impl IsTerminal for GuestStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestStream {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Pollable for GuestStream {
    async fn ready(&mut self) {}
}

impl OutputStream for GuestStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.output.write(self.stream, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for GuestStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.output.write(self.stream, buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_the_sdk_panic_line() {
        let out = GuestOutput::new("p".into());
        out.begin_call();
        out.write(Stream::Stderr, b"camel-wasm-panic: boom at src/lib.rs:3\n");
        assert_eq!(
            out.take_panic_message().as_deref(),
            Some("boom at src/lib.rs:3")
        );
    }

    #[test]
    fn captures_std_panic_output_split_across_writes() {
        let out = GuestOutput::new("p".into());
        out.begin_call();
        out.write(
            Stream::Stderr,
            b"thread '<unnamed>' panicked at src/lib.rs:1:1:\nbo",
        );
        out.write(Stream::Stderr, b"om");
        assert_eq!(out.take_panic_message().as_deref(), Some("boom"));
    }

    #[test]
    fn caps_what_is_logged() {
        let out = GuestOutput::new("p".into());
        out.begin_call();
        let line = vec![b'x'; MAX_LINE_BYTES * 2];
        for _ in 0..40 {
            out.write(Stream::Stdout, &line);
            out.write(Stream::Stdout, b"\n");
        }
        let c = out.lock();
        assert!(c.logged <= MAX_LOGGED_BYTES_PER_CALL);
        assert!(c.dropped > 0);
    }
}
