//! Host bindings generated from `wit/`, the single source of the contract.
//!
//! Nothing outside `runtime` sees these types: `convert` turns them into the
//! host's own model at the edge, so the wire format can change in one place.

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../wit",
    additional_derives: [PartialEq],
});

pub use self::aiopt::strategy::types as wit;
