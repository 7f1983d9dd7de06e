//! The `camel-wasm` binary driven as a user drives it: as a subprocess.
//!
//! Guest builds (the scaffolds of `new`, the beans example's plugin) go to
//! the target directory of the test guests (`camel-wasm-test-artifacts`),
//! so the SDK's dependencies, compiled there already, are reused.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_camel-wasm");

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn camel_wasm(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("CAMEL_PROFILE")
        .output()
        .expect("camel-wasm runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The target directory the test guests were built in:
/// `<dir>/wasm32-wasip2/release/<guest>.wasm`.
fn guest_target_dir() -> PathBuf {
    let echo = Path::new(camel_wasm_test_artifacts::ECHO);
    assert!(echo.is_file(), "test guests not built: {}", echo.display());
    echo.ancestors()
        .nth(3)
        .expect("guest path has a target directory")
        .to_path_buf()
}

/// `cargo build --release --target wasm32-wasip2 <args>` into the test
/// guests' target directory, with the outer build's flags removed (as the
/// guest build does), offline.
fn cargo_build_guest(dir: &Path, args: &[&str]) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let started = Instant::now();
    let status = Command::new(cargo)
        .current_dir(dir)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--offline",
            "--quiet",
        ])
        .args(args)
        .env("CARGO_TARGET_DIR", guest_target_dir())
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .status()
        .expect("cargo runs");
    assert!(
        status.success(),
        "cargo build {args:?} in {}",
        dir.display()
    );
    eprintln!(
        "cargo build {args:?}: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn help_lists_the_commands() {
    let out = camel_wasm(&["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for command in ["run", "new", "inspect"] {
        assert!(help.contains(command), "{help}");
    }
    let out = camel_wasm(&["run", "--help"]);
    let help = text(&out.stdout);
    assert!(
        help.contains("--grace") && help.contains("--profile"),
        "{help}"
    );
}

#[test]
fn new_builds_out_of_the_box_and_inspect_says_it_loads() {
    let tmp = tempfile::tempdir().unwrap();
    for (kind, world) in [
        ("processor", "processor"),
        ("bean", "bean"),
        ("source", "source"),
        ("policy", "policy"),
    ] {
        let name = format!("my-{kind}");
        let dir = tmp.path().join(&name);
        let out = camel_wasm(&["new", dir.to_str().unwrap(), "--kind", kind]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("cargo build --release"));
        // The versions this workspace has locked (and so has offline).
        std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
        // `cargo build` alone: the scaffold selects the target itself.
        cargo_build_guest(&dir, &[]);
        let wasm = guest_target_dir()
            .join("wasm32-wasip2/release")
            .join(format!("my_{kind}.wasm"));
        let out = camel_wasm(&["inspect", wasm.to_str().unwrap()]);
        let report = text(&out.stdout);
        assert!(out.status.success(), "{report}\n{}", text(&out.stderr));
        assert!(
            report.contains(&format!("world:    {world} (camel:wasm@0.2")),
            "{report}"
        );
        assert!(report.contains("loads:    yes"), "{report}");
        // Installed as its README says, the scaffold's own Camel.toml and
        // route run it (a policy needs authenticated callers: no route).
        std::fs::copy(&wasm, dir.join("plugins").join(format!("{name}.wasm"))).unwrap();
        let expected = match kind {
            "processor" => format!("[{name}] Body: [{name}] timer://{name} tick #1"),
            "bean" => format!("[{name}] Body: Hello, timer://{name} tick #1!"),
            "source" => format!("[{name}] Body: tick 1 from {name}"),
            _ => {
                check_policy(&dir, &name);
                continue;
            }
        };
        let mut run = Running::start(&dir, &[]);
        run.wait_for(&expected, 1);
        run.sigterm();
        let (status, _, stderr) = run.exit();
        assert!(status.success(), "{kind}: {stderr}");
    }
    // A second `new` into the same directory is refused.
    let dir = tmp.path().join("my-processor");
    let out = camel_wasm(&["new", dir.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("already exists"));
}

/// `camel-wasm new --lang python|js`, built with the project's own build
/// command (componentize-py and componentize-js, as `.ci/run` installs
/// them), inspected, and run by its own Camel.toml and route; the policy is
/// asked through the host's API. The compile cache `inspect` fills is the
/// one the project's Camel.toml names, so `run` does not compile again.
fn new_in_another_language_builds_loads_and_runs(lang: &str) {
    let tmp = tempfile::tempdir().unwrap();
    for kind in ["processor", "bean", "source", "policy"] {
        let name = format!("{lang}-{kind}");
        let dir = tmp.path().join(&name);
        let out = camel_wasm(&["new", dir.to_str().unwrap(), "--kind", kind, "--lang", lang]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let next = text(&out.stdout);
        let started = Instant::now();
        match lang {
            "python" => {
                assert!(next.contains("sh build.sh"), "{next}");
                run_build(&dir, Command::new("sh").arg("build.sh"));
            }
            _ => {
                assert!(next.contains("npm run build"), "{next}");
                // `npm install` fetches the pinned tools; the repository's
                // `npm ci` has installed the same versions already.
                let tools = workspace().join("node_modules");
                assert!(
                    tools.join("@bytecodealliance/componentize-js").is_dir(),
                    "componentize-js is not installed: run `npm ci` at the repository root"
                );
                std::os::unix::fs::symlink(&tools, dir.join("node_modules")).unwrap();
                run_build(&dir, Command::new("npm").args(["run", "--silent", "build"]));
            }
        }
        eprintln!("{name}: built in {:.1} s", started.elapsed().as_secs_f64());
        let wasm = dir.join("plugins").join(format!("{name}.wasm"));
        let cache = dir.join(".camel-wasm-cache");
        let out = camel_wasm(&[
            "inspect",
            "--compile-cache",
            cache.to_str().unwrap(),
            wasm.to_str().unwrap(),
        ]);
        let report = text(&out.stdout);
        assert!(out.status.success(), "{report}\n{}", text(&out.stderr));
        assert!(
            report.contains(&format!("world:    {kind} (camel:wasm@0.2")),
            "{report}"
        );
        assert!(report.contains("loads:    yes"), "{report}");
        // Each log line of the route, and what the second one carries: the
        // header the plugin sets, or the state it keeps.
        let (line, second) = match kind {
            "processor" => (
                format!("[{name}] Body: [{name}] timer://{name} tick #"),
                format!("processed-by=\"{name}\""),
            ),
            "bean" => (
                format!("[{name}] Body: Hello, timer://{name} tick #"),
                "greeted=2".to_string(),
            ),
            "source" => (
                format!("[{name}] Body: tick "),
                format!("tick 2 from {name} | Headers: {{tick=2}}"),
            ),
            _ => {
                check_policy(&dir, &name);
                continue;
            }
        };
        let mut run = Running::start(&dir, &[]);
        run.wait_for(&line, 2);
        run.sigterm();
        let (status, stdout, stderr) = run.exit();
        assert!(status.success(), "{kind}: {stderr}");
        assert!(stdout.contains(&second), "{kind}: {stdout}");
    }
}

#[test]
fn new_python_plugins_build_load_and_run() {
    new_in_another_language_builds_loads_and_runs("python");
}

#[test]
fn new_javascript_plugins_build_load_and_run() {
    new_in_another_language_builds_loads_and_runs("js");
}

/// Runs a scaffold's build command in its directory; it must write
/// nothing but the plugin (and caches the .gitignore lists).
fn run_build(dir: &Path, command: &mut Command) {
    let out = command
        .current_dir(dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("the build command runs");
    assert!(
        out.status.success(),
        "{command:?} in {}: {}{}",
        dir.display(),
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// The policy scaffold's decisions, asked through the host's API with the
/// configuration its Camel.toml gives (`role = "reader"`).
fn check_policy(dir: &Path, name: &str) {
    use camel_api::security_policy::{Principal, TransportId};
    use camel_component_wasm::{PolicyDecision, WasmComponent, WasmPluginConfig, WasmRuntime};

    let principal = |subject: &str, role: &str| Principal {
        subject: subject.into(),
        issuer: "test".into(),
        audience: Vec::new(),
        scopes: Vec::new(),
        roles: vec![role.into()],
        claims: serde_json::json!({ "sub": subject }),
    };
    let permission = |who: Principal, action: &str| camel_auth::permission::PermissionRequest {
        principal: who,
        resource: "/orders/42".into(),
        action: action.into(),
        requested_scopes: Vec::new(),
        context: serde_json::json!({}),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let wasm = WasmRuntime::builder()
            .compile_cache(dir.join(".camel-wasm-cache"))
            .build()
            .unwrap();
        let component = WasmComponent::builder(dir.join("plugins"))
            .runtime(wasm)
            .build()
            .unwrap();
        let policy = component
            .policy(
                name,
                &format!("{name}.wasm"),
                [("role".to_string(), "reader".to_string())],
                WasmPluginConfig::default(),
            )
            .await
            .unwrap();
        let exchange = camel_api::Exchange::new(camel_api::Message::new("hi"));
        let bob = principal("bob", "reader");
        let eve = principal("eve", "writer");
        let granted = policy.check_route(&exchange, &bob, "test", TransportId::Http);
        assert_eq!(granted.await.unwrap(), PolicyDecision::Grant);
        let denied = policy.check_route(&exchange, &eve, "test", TransportId::Http);
        assert_eq!(
            denied.await.unwrap(),
            PolicyDecision::Deny("`eve` lacks role `reader`".into())
        );
        let read = policy
            .check_permission(&permission(bob.clone(), "read"))
            .await;
        assert_eq!(read.unwrap(), PolicyDecision::Grant);
        let write = policy.check_permission(&permission(bob, "write")).await;
        assert_eq!(
            write.unwrap(),
            PolicyDecision::Deny("`bob` may not write /orders/42".into())
        );
        // Without its `role`, init fails and the policy does not load.
        let missing = component
            .policy(
                "no-role",
                &format!("{name}.wasm"),
                [],
                WasmPluginConfig::default(),
            )
            .await
            .unwrap_err();
        assert!(
            format!("{missing:?}").contains("the configuration needs `role`"),
            "{missing:?}"
        );
    });
}

struct Running {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    stdout: String,
    stderr: std::thread::JoinHandle<String>,
}

impl Running {
    fn start(dir: &Path, args: &[&str]) -> Running {
        let mut child = Command::new(BIN)
            .current_dir(dir)
            .arg("run")
            .args(args)
            .env_remove("CAMEL_PROFILE")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("camel-wasm run starts");
        let (send, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        let stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        Running {
            child,
            lines,
            stdout: String::new(),
            stderr,
        }
    }

    /// Waits (at most 120 s) until `count` lines of stdout contain `needle`.
    fn wait_for(&mut self, needle: &str, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut seen = 0;
        while seen < count {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = self.lines.recv_timeout(left) else {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "{seen} of {count} lines with {needle:?}; stdout:\n{}",
                    self.stdout
                );
            };
            seen += usize::from(line.contains(needle));
            self.stdout.push_str(&line);
            self.stdout.push('\n');
        }
    }

    fn sigterm(&self) {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    }

    /// Waits (at most 30 s) for the exit; returns the status, all of stdout
    /// and all of stderr.
    fn exit(mut self) -> (std::process::ExitStatus, String, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("camel-wasm did not exit within 30 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader ends with the pipe.
        while let Ok(line) = self.lines.recv() {
            self.stdout.push_str(&line);
            self.stdout.push('\n');
        }
        (status, self.stdout, self.stderr.join().unwrap())
    }
}

#[test]
fn run_the_beans_example_until_sigterm() {
    // The example's plugin, built from source like the example builds it.
    cargo_build_guest(
        &workspace(),
        &[
            "-p",
            "beans-example-greetings",
            "--manifest-path",
            "Cargo.toml",
        ],
    );
    let built = guest_target_dir().join("wasm32-wasip2/release/beans_example_greetings.wasm");

    // The example's Camel.toml and routes as they are; its timer route
    // sends real exchanges through both styles of a bean to a log.
    let tmp = tempfile::tempdir().unwrap();
    let example = workspace().join("examples/beans");
    std::fs::copy(example.join("Camel.toml"), tmp.path().join("Camel.toml")).unwrap();
    std::fs::create_dir_all(tmp.path().join("plugins")).unwrap();
    std::fs::create_dir_all(tmp.path().join("routes")).unwrap();
    std::fs::copy(&built, tmp.path().join("plugins/greetings.wasm")).unwrap();
    std::fs::copy(
        example.join("routes/greetings.yaml"),
        tmp.path().join("routes/greetings.yaml"),
    )
    .unwrap();
    std::fs::copy(
        example.join("routes/tick.yaml"),
        tmp.path().join("routes/tick.yaml"),
    )
    .unwrap();

    let mut run = Running::start(
        tmp.path(),
        &["--grace", "5", "routes/greetings.yaml", "routes/tick.yaml"],
    );
    // Three exchanges through the wasm beans, as the log step logs them.
    run.wait_for("GOOD EVENING, TIMER://TICK TICK #", 3);
    run.sigterm();
    let (status, _, stderr) = run.exit();
    assert!(status.success(), "exit {status:?}; stderr:\n{stderr}");
    assert!(
        stderr.contains("running 4 routes (greet, formal, stats, tick)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("SIGTERM: stopping") && stderr.contains("camel-wasm: stopped"),
        "{stderr}"
    );
}

#[test]
fn run_lets_an_exchange_in_flight_finish_after_sigterm() {
    // No Camel.toml: rust-camel's defaults, plugins in ./plugins.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("plugins")).unwrap();
    std::fs::copy(
        camel_wasm_test_artifacts::SLEEPER,
        tmp.path().join("plugins/sleeper.wasm"),
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("slow.yaml"),
        "routes:\n  - id: slow\n    from: timer:slow?repeatCount=1\n    steps:\n      \
         - set_header: { key: secs, value: \"2\" }\n      - to: log:sleeping\n      \
         - to: wasm:sleeper.wasm?timeout=30\n      - to: log:woke\n",
    )
    .unwrap();
    let mut run = Running::start(tmp.path(), &["--grace", "20", "slow.yaml"]);
    run.wait_for("sleeping", 1);
    let signalled = Instant::now();
    run.sigterm();
    let (status, stdout, stderr) = run.exit();
    assert!(status.success(), "exit {status:?}; stderr:\n{stderr}");
    assert!(
        stdout.contains("[woke] Body: timer://slow tick #1"),
        "the exchange in flight finished:\n{stdout}"
    );
    assert!(
        signalled.elapsed() >= Duration::from_secs(1),
        "stopping waited for it"
    );
}

/// A raw HTTP/1.1 POST of `body` to 127.0.0.1:`port`/orders, as `token`'s
/// holder; returns the status code.
fn post_status(port: u16, token: Option<&str>, body: &str) -> u16 {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "POST /orders HTTP/1.1\r\nHost: localhost\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"))
}

/// `camel-wasm run` with a secured `wasm:` source: `[security.native]`
/// credentials authenticate each request at the listener, a wasm policy
/// decides, all from Camel.toml and YAML.
#[test]
fn run_serves_a_secured_wasm_source_from_camel_toml() {
    let tmp = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::create_dir_all(tmp.path().join("plugins")).unwrap();
    std::fs::create_dir_all(tmp.path().join("routes")).unwrap();
    for (guest, name) in [
        (camel_wasm_test_artifacts::SOURCE_WEBHOOK, "webhook.wasm"),
        (camel_wasm_test_artifacts::POLICY_ROLES, "roles.wasm"),
    ] {
        std::fs::copy(guest, tmp.path().join("plugins").join(name)).unwrap();
    }
    std::fs::write(
        tmp.path().join("Camel.toml"),
        r#"routes = ["routes/*.yaml"]

[components.wasm]
plugins_dir = "plugins"

[security.native]
subject = "ops"
bearer_token = "ops-token"
roles = ["auditor"]

[[security.native.credentials]]
subject = "guest"
secret_env = "CAMEL_WASM_TEST_GUEST_TOKEN"
roles = ["reader"]

[security.policies.wasm.auditors]
path = "plugins/roles.wasm"
[security.policies.wasm.auditors.config]
role = "auditor"
"#,
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("routes/hook.yaml"),
        format!(
            r#"routes:
  - id: hook
    from: "wasm:webhook.wasm?listen=127.0.0.1:{port}"
    security_policy: {{ wasm: auditors }}
    steps:
      - to: log:hook
"#
        ),
    )
    .unwrap();

    let mut child = Command::new(BIN)
        .current_dir(tmp.path())
        .arg("run")
        .env_remove("CAMEL_PROFILE")
        .env("CAMEL_WASM_TEST_GUEST_TOKEN", "guest-token")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
            panic!("camel-wasm run exited ({status}):\n{stderr}");
        }
        assert!(Instant::now() < deadline, "the source never listened");
        std::thread::sleep(Duration::from_millis(50));
    }
    let order = r#"{"id": 7}"#;
    let statuses = [
        post_status(port, None, order),
        post_status(port, Some("forged"), order),
        post_status(port, Some("guest-token"), order),
        post_status(port, Some("ops-token"), order),
    ];
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    // No credentials or forged ones: 401 at the listener; a reader: the
    // policy's 403; the auditor: through the route.
    assert_eq!(statuses, [401, 401, 403, 200]);
    assert!(status.success(), "{status:?}");
}
