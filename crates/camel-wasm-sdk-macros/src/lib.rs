//! Procedural macros for [`camel-wasm-sdk`]. Use them through the SDK
//! (`camel_wasm_sdk::plugin`), which documents them; the expansions refer to
//! `::camel_wasm_sdk` and do not work without it.
//!
//! Set `CAMEL_WASM_MACROS_DEBUG=1` while compiling a plugin to write each
//! expansion to a file in this crate's `OUT_DIR` (the path is printed).
//!
//! [`camel-wasm-sdk`]: https://docs.rs/camel-wasm-sdk

use proc_macro::TokenStream;

mod plugin;

/// Exports a function as the plugin's `processor` world. See
/// `camel_wasm_sdk::plugin` for the documentation.
#[proc_macro_attribute]
pub fn plugin(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    match plugin::expand(attr.into(), item.clone()) {
        Ok(tokens) => {
            debug_dump("plugin", &tokens);
            tokens.into()
        }
        Err(error) => {
            // Keep the function so its uses don't add confusing errors.
            let mut tokens = error.into_compile_error();
            tokens.extend(item);
            tokens.into()
        }
    }
}

/// Writes an expansion to `OUT_DIR` when `CAMEL_WASM_MACROS_DEBUG` is set.
fn debug_dump(name: &str, tokens: &proc_macro2::TokenStream) {
    if std::env::var_os("CAMEL_WASM_MACROS_DEBUG").is_none_or(|value| value == "0") {
        return;
    }
    let crate_name = std::env::var("CARGO_CRATE_NAME").unwrap_or_else(|_| "unknown".to_owned());
    let path = std::path::Path::new(env!("OUT_DIR")).join(format!("{crate_name}-{name}.rs"));
    match std::fs::write(&path, tokens.to_string()) {
        Ok(()) => eprintln!("camel-wasm-sdk-macros: wrote {}", path.display()),
        Err(error) => eprintln!(
            "camel-wasm-sdk-macros: cannot write {}: {error}",
            path.display()
        ),
    }
}
