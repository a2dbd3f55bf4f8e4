//! Tresor's network edge: listener, TLS, the awsJson1.1 codec and the health endpoint.
//!
//! Data path: a connection is accepted (plain or rustls), each request body is bounded to
//! 1 MiB before anything parses it, the service and operation are chosen from
//! `X-Amz-Target`, the core authenticates the SigV4 signature, the body is decoded into the
//! operation's typed request, the core runs the operation on a blocking thread, and the result
//! is encoded. This crate is the only place where a `CoreError` becomes an HTTP response
//! (`wire.rs`); it never touches SQL or key material.

mod deadlines;
mod dispatch;
pub mod fuzzing;
mod handler;
mod http_server;
mod limits;
mod query;
mod sealed;
mod wire;

pub use http_server::{serve, RotationSettings, ServerConfig, TlsFiles};
pub use limits::Limits;
pub use sealed::{serve_sealed, UNSEAL_PATH};

/// Largest request body accepted, checked before parsing.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
