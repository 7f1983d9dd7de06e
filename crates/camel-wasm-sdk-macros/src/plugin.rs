//! `#[plugin]`: exports a function as the `processor` world.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{FnArg, ItemFn, ReturnType};

/// Arguments of `#[plugin(…)]`.
#[derive(Default)]
struct Args {
    /// `init = path`.
    init: Option<syn::Path>,
}

fn parse_args(attr: TokenStream) -> syn::Result<Args> {
    let mut args = Args::default();
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("init") {
            if args.init.is_some() {
                return Err(meta.error("duplicate `init` argument"));
            }
            args.init = Some(meta.value()?.parse()?);
            Ok(())
        } else {
            Err(meta.error("unknown `plugin` argument; expected `init = path::to::function`"))
        }
    });
    syn::parse::Parser::parse2(parser, attr)?;
    Ok(args)
}

/// Checks the parts of the signature the glue relies on; the argument and
/// return types are left to the type checker (the runtime helpers' bounds).
fn check_signature(function: &ItemFn) -> syn::Result<()> {
    let sig = &function.sig;
    if let Some(unsafety) = &sig.unsafety {
        return Err(syn::Error::new(
            unsafety.span(),
            "a `#[plugin]` function cannot be `unsafe`",
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new(
            sig.generics.span(),
            "a `#[plugin]` function cannot be generic",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        return Err(syn::Error::new(
            variadic.span(),
            "a `#[plugin]` function cannot be variadic",
        ));
    }
    if let Some(FnArg::Receiver(receiver)) = sig.inputs.first() {
        return Err(syn::Error::new(
            receiver.span(),
            "a `#[plugin]` function cannot take `self`; use a free function",
        ));
    }
    if sig.inputs.len() != 1 {
        let span = if sig.inputs.is_empty() {
            sig.paren_token.span.join()
        } else {
            sig.inputs.span()
        };
        return Err(syn::Error::new(
            span,
            "a `#[plugin]` function takes exactly one argument: `exchange: Exchange`",
        ));
    }
    if let ReturnType::Default = sig.output {
        return Err(syn::Error::new(
            sig.ident.span(),
            "a `#[plugin]` function must return `Result<Exchange, PluginError>`",
        ));
    }
    Ok(())
}

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let args = parse_args(attr)?;
    let function: ItemFn = syn::parse2(item)?;
    check_signature(&function)?;

    let name = &function.sig.ident;
    let private = quote!(::camel_wasm_sdk::__private);

    let run_process = if function.sig.asyncness.is_some() {
        quote_spanned!(name.span()=> #private::run_process_async(exchange, #name))
    } else {
        quote_spanned!(name.span()=> #private::run_process(exchange, #name))
    };
    let run_init = match &args.init {
        Some(init) => quote_spanned!(init.span()=> #private::run_init(#init)),
        None => quote!(#private::run_init(#private::no_init)),
    };

    // The struct is named (not hidden in `const _`) so the SDK's own tests
    // can reach the generated `Guest` impl; a crate has only one plugin.
    let glue = quote! {
        #[doc(hidden)]
        struct __CamelWasmProcessor;

        impl #private::processor::Guest for __CamelWasmProcessor {
            fn init() -> ::core::result::Result<(), ::std::string::String> {
                #run_init
            }

            fn process(
                exchange: #private::wit::Exchange,
            ) -> ::core::result::Result<#private::wit::Exchange, #private::wit::Error> {
                #run_process
            }
        }

        impl #private::processor::exports::camel::wasm::body_source::Guest for __CamelWasmProcessor {
            fn next(
                id: u32,
                max: u32,
            ) -> ::core::result::Result<
                ::core::option::Option<::std::vec::Vec<u8>>,
                #private::wit::Error,
            > {
                #private::body_source_next(id, max)
            }

            fn cancel(id: u32) {
                #private::body_source_cancel(id)
            }
        }

        #private::processor::export_processor!(
            __CamelWasmProcessor with_types_in #private::processor
        );
    };

    Ok(quote! {
        #function
        #glue
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(attr: &str, item: &str) -> Result<String, String> {
        expand(attr.parse().unwrap(), item.parse().unwrap())
            .map(|tokens| tokens.to_string())
            .map_err(|error| error.to_string())
    }

    const PLAIN: &str = "fn p(e: Exchange) -> Result<Exchange, PluginError> { Ok(e) }";

    #[test]
    fn expands_sync_function() {
        let out = expand_str("", PLAIN).unwrap();
        assert!(out.contains("fn p"), "{out}");
        assert!(out.contains("run_process (exchange , p)"), "{out}");
        assert!(
            out.contains("run_init (:: camel_wasm_sdk :: __private :: no_init)"),
            "{out}"
        );
        assert!(out.contains("export_processor !"), "{out}");
    }

    #[test]
    fn expands_async_function_with_init() {
        let item = "async fn p(e: Exchange) -> Result<Exchange, PluginError> { Ok(e) }";
        let out = expand_str("init = setup::run", item).unwrap();
        assert!(out.contains("run_process_async (exchange , p)"), "{out}");
        assert!(out.contains("run_init (setup :: run)"), "{out}");
    }

    #[test]
    fn rejects_bad_arguments() {
        assert!(
            expand_str("oops", PLAIN)
                .unwrap_err()
                .contains("unknown `plugin` argument")
        );
        assert!(
            expand_str("init = a, init = b", PLAIN)
                .unwrap_err()
                .contains("duplicate")
        );
        assert!(expand_str("init", PLAIN).is_err());
    }

    #[test]
    fn rejects_bad_signatures() {
        let cases = [
            ("fn p() -> R { x }", "exactly one argument"),
            ("fn p(a: A, b: B) -> R { x }", "exactly one argument"),
            ("fn p(e: Exchange) { }", "must return"),
            ("fn p<T>(e: T) -> R { x }", "generic"),
            ("unsafe fn p(e: Exchange) -> R { x }", "`unsafe`"),
            ("fn p(self) -> R { x }", "`self`"),
            ("struct S;", "expected `fn`"),
        ];
        for (item, message) in cases {
            let error = expand_str("", item).unwrap_err();
            assert!(error.contains(message), "{item}: {error}");
        }
    }
}
