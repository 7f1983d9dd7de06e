//! Progress on stderr for steps that can be slow (compiling a big
//! component takes seconds): a live line with the elapsed time on a
//! terminal, a start line and (if it took a while) an end line otherwise.

use std::io::{IsTerminal as _, Write as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Steps shorter than this get no end line when stderr is not a terminal.
const WORTH_REPORTING: Duration = Duration::from_secs(1);
/// How often the live line is redrawn.
const TICK: Duration = Duration::from_millis(100);

/// One step in progress; [`Progress::finish`] ends it.
#[derive(Debug)]
pub(crate) struct Progress {
    label: String,
    started: Instant,
    live: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
}

impl Progress {
    /// Starts reporting `label` (e.g. `compiling x.wasm (15.2 MB)`).
    pub(crate) fn start(label: impl Into<String>) -> Self {
        let label = label.into();
        let started = Instant::now();
        let live = if std::io::stderr().is_terminal() {
            let done = Arc::new(AtomicBool::new(false));
            let flag = done.clone();
            let text = label.clone();
            let spawned = std::thread::Builder::new()
                .name("camel-wasm-progress".into())
                .spawn(move || {
                    let frames = ['|', '/', '-', '\\'];
                    let mut n = 0usize;
                    while !flag.load(Ordering::Relaxed) {
                        let elapsed = started.elapsed().as_secs_f64();
                        eprint!("\r{} {text} {elapsed:.1} s\x1b[K", frames[n % frames.len()]);
                        let _ = std::io::stderr().flush();
                        n += 1;
                        std::thread::sleep(TICK);
                    }
                });
            spawned.ok().map(|handle| (done, handle))
        } else {
            eprintln!("camel-wasm: {label}…");
            None
        };
        Progress {
            label,
            started,
            live,
        }
    }

    /// Ends the step, saying how long it took.
    pub(crate) fn finish(self) {
        let elapsed = self.started.elapsed();
        match self.live {
            Some((done, handle)) => {
                done.store(true, Ordering::Relaxed);
                let _ = handle.join();
                eprintln!("\r{} ({:.1} s)\x1b[K", self.label, elapsed.as_secs_f64());
            }
            None if elapsed >= WORTH_REPORTING => {
                eprintln!(
                    "camel-wasm: {}: done in {:.1} s",
                    self.label,
                    elapsed.as_secs_f64()
                );
            }
            None => {}
        }
    }
}

/// `15.2 MB`, `812 KB`, `90 bytes`.
pub(crate) fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b if b >= 1_000 => format!("{} KB", b / 1_000),
        b => format!("{b} bytes"),
    }
}
