//! Beans: plugins with several named methods ([`BeanPlugin`], [`export_bean!`]).

use std::collections::BTreeMap;

use crate::{Exchange, PluginError};

/// A plugin of the `bean` world: several named methods that `bean` route
/// steps call by name.
///
/// Implement it on a unit struct and export it with
/// [`export_bean!(Type)`](crate::export_bean). For the common case of "one
/// function per method", `export_bean!` can also write the impl for you.
///
/// ```
/// use std::collections::BTreeMap;
/// use camel_wasm_sdk::{BeanPlugin, Exchange, PluginError, export_bean};
///
/// struct Validator;
///
/// impl BeanPlugin for Validator {
///     fn init(config: BTreeMap<String, String>) -> Result<(), String> {
///         if config.contains_key("schema") {
///             Ok(())
///         } else {
///             Err("missing `schema`".to_owned())
///         }
///     }
///
///     fn methods() -> Vec<&'static str> {
///         vec!["validate"]
///     }
///
///     fn invoke(method: &str, exchange: Exchange) -> Result<Exchange, PluginError> {
///         match method {
///             "validate" if exchange.body().is_empty() => Err(PluginError::failed("empty body")),
///             "validate" => Ok(exchange),
///             other => Err(PluginError::not_found(format!("no method `{other}`"))),
///         }
///     }
/// }
///
/// export_bean!(Validator);
/// # fn main() {}
/// ```
pub trait BeanPlugin {
    /// Runs once per instance, before the first [`invoke`](Self::invoke),
    /// with the bean's configuration pairs. An `Err` fails the bean's
    /// start-up with that message. The default accepts any configuration.
    fn init(config: BTreeMap<String, String>) -> Result<(), String> {
        let _ = config;
        Ok(())
    }

    /// The names of the methods this bean offers.
    fn methods() -> Vec<&'static str>;

    /// Invokes `method` on `exchange`.
    ///
    /// # Errors
    ///
    /// Whatever the method reports; by convention [`PluginError::NotFound`]
    /// for a method name the bean does not offer.
    fn invoke(method: &str, exchange: Exchange) -> Result<Exchange, PluginError>;
}

/// Exports a bean: a [`BeanPlugin`] type, or a table of methods.
///
/// A crate exports at most one plugin (one `export_bean!` or one
/// [`#[plugin]`](crate::plugin)).
///
/// # Exporting a `BeanPlugin` type
///
/// `export_bean!(Type)` exports `Type`'s [`BeanPlugin`] impl as the `bean`
/// world (see the [`BeanPlugin`] example).
///
/// # Exporting a method table
///
/// `export_bean!(Name { "method" => function, … })` declares a unit struct
/// `Name`, implements [`BeanPlugin`] for it and exports it:
///
/// - `methods()` returns the method names in the order given;
/// - `invoke` calls the function registered for the name; an unknown name is
///   a [`PluginError::NotFound`] that lists the available methods;
/// - each function is `fn(Exchange) -> Result<Exchange, E>` where
///   `E: Into<PluginError>`;
/// - an optional leading `init = function,` sets the `init` function:
///   `fn(BTreeMap<String, String>) -> R`, where `R` is `()` or
///   `Result<(), E>` with `E: Display` (e.g. `String` or [`PluginError`]).
///
/// Attributes (doc comments, derives) and a visibility before `Name` are put
/// on the struct, which always derives `Debug`, `Clone` and `Copy`.
///
/// ```
/// use std::collections::BTreeMap;
/// use camel_wasm_sdk::{Exchange, PluginError, export_bean};
///
/// fn setup(config: BTreeMap<String, String>) -> Result<(), String> {
///     config.get("region").map(|_| ()).ok_or_else(|| "missing `region`".to_owned())
/// }
///
/// fn validate(exchange: Exchange) -> Result<Exchange, PluginError> {
///     if exchange.body().is_empty() {
///         return Err(PluginError::failed("empty order"));
///     }
///     Ok(exchange)
/// }
///
/// fn enrich(mut exchange: Exchange) -> Result<Exchange, PluginError> {
///     exchange.message_mut().set_header("enriched", true);
///     Ok(exchange)
/// }
///
/// export_bean!(
///     /// Order checks.
///     Orders {
///         init = setup,
///         "validate" => validate,
///         "enrich" => enrich,
///     }
/// );
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! export_bean {
    (
        $(#[$attr:meta])*
        $vis:vis $name:ident {
            $(init = $init:path,)?
            $($method:literal => $function:path),+ $(,)?
        }
    ) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Copy)]
        $vis struct $name;

        impl $crate::BeanPlugin for $name {
            $(
                fn init(
                    config: ::std::collections::BTreeMap<
                        ::std::string::String,
                        ::std::string::String,
                    >,
                ) -> ::core::result::Result<(), ::std::string::String> {
                    $crate::__private::call_bean_init($init, config)
                }
            )?

            fn methods() -> ::std::vec::Vec<&'static str> {
                ::std::vec![$($method),+]
            }

            fn invoke(
                method: &str,
                exchange: $crate::Exchange,
            ) -> ::core::result::Result<$crate::Exchange, $crate::PluginError> {
                match method {
                    $($method => $crate::__private::call_bean_method($function, exchange),)+
                    _ => ::core::result::Result::Err($crate::__private::unknown_method(
                        method,
                        &[$($method),+],
                    )),
                }
            }
        }

        $crate::export_bean!($name);
    };
    ($bean:ty $(,)?) => {
        const _: () = {
            type __CamelWasmBean = $crate::__private::BeanAdapter<$bean>;
            $crate::__private::bean::export_bean_world!(
                __CamelWasmBean with_types_in $crate::__private::bean
            );
        };
    };
}
