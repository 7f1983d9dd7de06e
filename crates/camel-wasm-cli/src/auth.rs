//! Who may call secured routes: the authenticator `[security.native]` in
//! Camel.toml describes (rust-camel's static credentials), registered as
//! the routes' `default` auth provider. Routes with a `security_policy`
//! (wasm sources included) authenticate their callers with it.

use std::sync::Arc;

use camel_api::security_policy::Principal;
use camel_auth::TokenAuthenticator;
use camel_auth::native_auth::{
    NativeCredential, NativeCredentialSecret, NativeCredentialStore, StaticTokenAuthenticator,
};
use camel_config::config::{NativeAuthConfig, SecurityConfig};
use zeroize::Zeroizing;

use crate::config_file::ConfigFile;
use crate::failure::Failure;

/// The authenticator of `[security]`, if it configures one.
pub(crate) fn authenticator(
    file: &ConfigFile,
) -> Result<Option<Arc<dyn TokenAuthenticator>>, Failure> {
    let security: &SecurityConfig = &file.config.security;
    for (key, configured) in [
        ("oidc", security.oidc.is_some()),
        ("keycloak", security.keycloak.is_some()),
    ] {
        if configured {
            return Err(file.failure(
                &["security", key],
                &format!(
                    "`camel-wasm run` authenticates with `[security.native]` credentials only; \
                     `[security.{key}]` needs rust-camel's own `camel run`"
                ),
            ));
        }
    }
    let Some(native) = &security.native else {
        return Ok(None);
    };
    native
        .validate_credentials()
        .map_err(|e| file.failure(&["security", "native", "credentials"], &e.to_string()))?;
    let store = NativeCredentialStore::try_new(credentials(native))
        .map_err(|e| file.failure(&["security", "native"], &e.to_string()))?;
    Ok(Some(Arc::new(StaticTokenAuthenticator::new(store))))
}

/// Every credential of `[security.native]`: the subject's own
/// `bearer_token` and `api_key`, then each `[[security.native.credentials]]`
/// entry (its secret inline or from the environment variable it names).
fn credentials(native: &NativeAuthConfig) -> Vec<NativeCredential> {
    let issuer = native.issuer.as_deref().unwrap_or("camel-wasm");
    let principal = |subject: &str, roles: &[String], scopes: &[String]| Principal {
        subject: subject.to_string(),
        issuer: issuer.to_string(),
        audience: Vec::new(),
        scopes: scopes.to_vec(),
        roles: roles.to_vec(),
        claims: serde_json::json!({ "sub": subject, "iss": issuer }),
    };
    let plaintext = |value: &str| NativeCredentialSecret::Plaintext {
        value: Zeroizing::new(value.to_string()),
    };
    let own = principal(&native.subject, &native.roles, &native.scopes);
    let mut all: Vec<NativeCredential> = [&native.bearer_token, &native.api_key]
        .into_iter()
        .flatten()
        .map(|secret| NativeCredential {
            secret: plaintext(secret),
            principal: own.clone(),
        })
        .collect();
    for entry in &native.credentials {
        let secret = match (&entry.secret, &entry.secret_env) {
            (Some(secret), _) => plaintext(secret),
            (None, Some(name)) => NativeCredentialSecret::Env { name: name.clone() },
            // validate_credentials refused this already.
            (None, None) => continue,
        };
        all.push(NativeCredential {
            secret,
            principal: principal(&entry.subject, &entry.roles, &entry.scopes),
        });
    }
    all
}
