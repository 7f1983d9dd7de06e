//! Integration tests: real rust-camel contexts and routes, real guests built
//! from source by `camel-wasm-test-artifacts`.

mod project;
mod support;

mod beans;
mod boundaries;
mod calls;
mod concurrency;
mod endpoint_errors;
mod exchange_mapping;
mod inspect;
mod lifecycle;
mod limits;
mod migration;
mod migration_source;
mod observability;
mod policies;
mod queue;
mod runtime_options;
mod sandbox;
mod sources;
mod state;
mod streams;
mod stress;
