//! Validated identifiers and secret-holding wrappers shared by every Tresor crate.
//!
//! Data path: the protocol layer turns wire strings into these types once, at the edge; from
//! then on an `AccountId` is twelve digits, a `Region` is well-formed, and any plaintext value or
//! key is a [`SecretBytes`] that zeroizes on drop and never prints. No I/O lives here.

mod ids;
mod secret;
mod time;

pub use ids::{AccountId, IdError, Region};
pub use secret::SecretBytes;
pub use time::Timestamp;
