//! Validated identifiers and secret-holding wrappers shared by every Tresor crate.
//!
//! Data path: the protocol layer turns wire strings into these types once, at the edge; from
//! then on an `AccountId` is twelve digits, a `Region` is well-formed, and any plaintext value or
//! key is a [`SecretBytes`] that zeroizes on drop and never prints. The string members of the AWS
//! models ([`SecretId`], [`VersionId`], [`StagingLabel`], …) carry their model constraints
//! ([`model`]), checked once when a request is decoded. No I/O lives here.

mod ids;
pub mod model;
mod secret;
mod time;

pub use ids::{AccountId, IdError, Region};
pub use model::{
    Description, KmsKeyId, ModelString, NextToken, Pattern, RegionName, ResourcePolicyText,
    SecretId, SecretName, SecretType, StagingLabel, StringShape, TagKey, TagValue, VersionId,
};
pub use secret::SecretBytes;
pub use time::{epoch, epoch_opt, Timestamp};
