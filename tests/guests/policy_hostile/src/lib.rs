//! Test guest `policy_hostile`: a policy that misbehaves on request.
//!
//! The mode is the header `mode` of a route check's exchange, or the
//! action of a permission check:
//! - `ok`: grants;
//! - `trap`: aborts (an `unreachable` trap);
//! - `panic`: panics;
//! - `spin`: loops forever;
//! - `sleep`: blocks in WASI forever;
//! - `fail`: returns an error;
//! - `call`: tries `camel-call`, and denies with what the host answered;
//! - `write`: tries `host-store`, and denies with what the host answered
//!   (grants if the write went through);
//! - anything else: denies.

use std::time::Duration;

use camel_wasm_sdk::{
    Decision, Host, PermissionCheck, PluginError, PolicyPlugin, RouteCheck, export_policy,
};

struct Hostile;

fn act(mode: &str) -> Result<Decision, PluginError> {
    match mode {
        "ok" => Ok(Decision::Grant),
        "trap" => std::process::abort(),
        "panic" => panic!("the policy panicked on purpose"),
        "spin" => {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        "sleep" => {
            std::thread::sleep(Duration::MAX);
            Ok(Decision::Grant)
        }
        "fail" => Err(PluginError::failed("the policy failed on purpose")),
        "call" => match Host::camel_call("direct:anything", "x") {
            Ok(_) => Ok(Decision::Grant),
            Err(err) => Ok(Decision::Deny(format!("camel-call: {err}"))),
        },
        "write" => match Host::store("k", "v") {
            Ok(()) => Ok(Decision::Grant),
            Err(err) => Ok(Decision::Deny(format!("host-store: {err}"))),
        },
        other => Ok(Decision::Deny(format!("unknown mode `{other}`"))),
    }
}

impl PolicyPlugin for Hostile {
    fn check_route(check: RouteCheck) -> Result<Decision, PluginError> {
        let mode = check
            .exchange
            .message()
            .header_str("mode")
            .unwrap_or("ok")
            .to_owned();
        act(&mode)
    }

    fn check_permission(check: PermissionCheck) -> Result<Decision, PluginError> {
        act(&check.action)
    }
}

export_policy!(Hostile);
