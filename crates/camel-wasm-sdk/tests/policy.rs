//! `export_policy!`: the adapter maps checks in and decisions out, and a
//! method the policy leaves out denies.

use std::collections::BTreeMap;

use camel_wasm_sdk::__private::policy::Guest;
use camel_wasm_sdk::__private::policy::camel::wasm::policy_types as wit_policy;
use camel_wasm_sdk::__private::{PolicyAdapter, exchange_into_wit, wit};
use camel_wasm_sdk::{
    Decision, Exchange, Message, PermissionCheck, PluginError, PolicyPlugin, Transport,
    export_policy,
};

/// Grants route checks to holders of the header's role; leaves permission
/// checks to the default.
struct HeaderRole;

impl PolicyPlugin for HeaderRole {
    fn init(config: BTreeMap<String, String>) -> Result<(), String> {
        if config.contains_key("refuse") {
            return Err("refused".to_owned());
        }
        Ok(())
    }

    fn check_route(check: camel_wasm_sdk::RouteCheck) -> Result<Decision, PluginError> {
        assert_eq!(check.transport, Transport::Grpc);
        assert_eq!(check.provider, "keys");
        let role = check
            .exchange
            .message()
            .header_str("role")
            .ok_or_else(|| PluginError::failed("no role header"))?
            .to_owned();
        Ok(Decision::require(
            check.principal.has_role(&role),
            format!("needs {role}"),
        ))
    }
}

export_policy!(HeaderRole);

/// Only answers permission checks.
struct Reads;

impl PolicyPlugin for Reads {
    fn check_permission(check: PermissionCheck) -> Result<Decision, PluginError> {
        Ok(Decision::require(check.action == "read", "read only"))
    }
}

fn principal(roles: &[&str]) -> wit_policy::Principal {
    wit_policy::Principal {
        subject: "alice".to_owned(),
        issuer: String::new(),
        audience: Vec::new(),
        scopes: Vec::new(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        claims: "{}".to_owned(),
    }
}

fn route(roles: &[&str], header: Option<&str>) -> wit_policy::Check {
    let mut message = Message::new("body");
    if let Some(role) = header {
        message.set_header("role", role);
    }
    wit_policy::Check::Route(wit_policy::RouteCheck {
        principal: principal(roles),
        provider: "keys".to_owned(),
        transport: wit_policy::Transport::Grpc,
        exchange: exchange_into_wit(Exchange::new(message)),
    })
}

fn permission(action: &str) -> wit_policy::Check {
    wit_policy::Check::Permission(wit_policy::PermissionCheck {
        principal: principal(&[]),
        resource: "/r".to_owned(),
        action: action.to_owned(),
        scopes: Vec::new(),
        context: "{}".to_owned(),
    })
}

type Adapter = PolicyAdapter<HeaderRole>;

#[test]
fn route_checks_grant_deny_and_fail() {
    assert!(matches!(
        Adapter::evaluate(route(&["ops"], Some("ops"))),
        Ok(wit_policy::Decision::Grant)
    ));
    assert!(matches!(
        Adapter::evaluate(route(&["dev"], Some("ops"))),
        Ok(wit_policy::Decision::Deny(reason)) if reason == "needs ops"
    ));
    assert!(matches!(
        Adapter::evaluate(route(&["ops"], None)),
        Err(wit::Error::Failed(message)) if message == "no role header"
    ));
}

#[test]
fn a_check_the_policy_does_not_answer_denies() {
    assert!(matches!(
        Adapter::evaluate(permission("read")),
        Ok(wit_policy::Decision::Deny(reason)) if reason.contains("does not answer permission")
    ));
    assert!(matches!(
        <PolicyAdapter<Reads> as Guest>::evaluate(route(&["ops"], Some("ops"))),
        Ok(wit_policy::Decision::Deny(reason)) if reason.contains("does not answer route")
    ));
    assert!(matches!(
        <PolicyAdapter<Reads> as Guest>::evaluate(permission("read")),
        Ok(wit_policy::Decision::Grant)
    ));
}

#[test]
fn init_passes_the_configuration() {
    assert_eq!(Adapter::init(Vec::new()), Ok(()));
    assert_eq!(
        Adapter::init(vec![("refuse".to_owned(), "yes".to_owned())]),
        Err("refused".to_owned())
    );
}
