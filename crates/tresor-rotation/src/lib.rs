//! Rotation's engine: the part of the data path that runs a secret's rotation once the core
//! has decided it is due.
//!
//! The core owns the state (`tresor_core::rotation`: RotateSecret, the schedule, the pending
//! version, the lease that makes exactly one node run a rotation, the audit records); this
//! crate calls the rotators, one step at a time, with the four fields a rotation Lambda
//! receives:
//! - [`command`]: a local program, the event on stdin, short-lived STS credentials of the
//!   rotator's role and `AWS_ENDPOINT_URL` in its environment;
//! - [`webhook`]: an HTTPS POST signed with HMAC-SHA-256 and a timestamp;
//! - [`builtin`]: rotators for providers' keys (OpenAI, OpenRouter, and manual rotation for
//!   providers without a key-creation API), acting through the Secrets Manager operations
//!   as the rotator's role.
//!
//! [`scheduler`] fires due rotations and runs them with [`engine`].

pub mod acting;
pub mod builtin;
pub mod command;
pub mod engine;
pub mod http;
pub mod rotator;
pub mod scheduler;
pub mod webhook;

pub use engine::Engine;
pub use rotator::{Credentials, Environment, Step, StepEvent, StepReport};
