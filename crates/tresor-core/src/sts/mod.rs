//! The STS API (awsQuery): `GetCallerIdentity` and `AssumeRole`.
//!
//! Data path: as for IAM ([`crate::iam`]), the server hands over the form parameters as JSON
//! and writes the JSON answer as XML. `AssumeRole` checks the role's trust policy (with the
//! caller's identity policies, see [`assume_role`]), then mints temporary credentials: an
//! `ASIA…` access key whose secret is stored sealed and a session token of which only a keyed
//! digest is stored, both answered once. Authentication then accepts the key only with its
//! token and only until it expires, and only while the role exists.

mod assume_role;
mod caller_identity;
pub mod dto;
#[cfg(test)]
mod tests;

use serde_json::Value;

use crate::iam::params::{decode, encode};
use crate::{Core, CoreError, RequestContext};

/// The STS operations Tresor serves (of the botocore `sts` model, 2011-06-15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    GetCallerIdentity,
    AssumeRole,
}

impl Operation {
    pub const ALL: [Operation; 2] = [Self::GetCallerIdentity, Self::AssumeRole];

    pub fn name(self) -> &'static str {
        match self {
            Self::GetCallerIdentity => "GetCallerIdentity",
            Self::AssumeRole => "AssumeRole",
        }
    }

    /// Parse the request's `Action` parameter.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == name)
    }

    /// The IAM action that authorizes this operation (`sts:AssumeRole`).
    pub fn iam_action(self) -> String {
        format!("sts:{}", self.name())
    }

    /// CloudTrail's `readOnly`: both, `AssumeRole` included although it starts a session
    /// (see [`Self::changes_state`]): AWS records it as a read.
    pub fn is_read_only(self) -> bool {
        match self {
            Self::GetCallerIdentity | Self::AssumeRole => true,
        }
    }

    /// Whether it writes to the store: `AssumeRole` stores the session it starts.
    pub fn changes_state(self) -> bool {
        match self {
            Self::GetCallerIdentity => false,
            Self::AssumeRole => true,
        }
    }
}

/// Run one STS operation; see [`crate::iam::dispatch`] for the shapes of `params` and the
/// answer.
pub fn dispatch(
    core: &Core,
    ctx: &RequestContext,
    op: Operation,
    params: Value,
) -> Result<Value, CoreError> {
    match op {
        Operation::GetCallerIdentity => encode(core.get_caller_identity(ctx)),
        Operation::AssumeRole => encode(core.assume_role(ctx, decode(params)?)),
    }
}

impl Core {
    /// Remove session keys whose expiry has passed (authentication already refuses them).
    pub fn purge_expired_sessions(&self, now: tresor_types::Timestamp) -> Result<usize, CoreError> {
        use tresor_store::IdentityStore;
        Ok(self.store.purge_expired_sessions(now)?)
    }
}

#[cfg(test)]
mod operation_tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for op in Operation::ALL {
            assert_eq!(Operation::from_name(op.name()), Some(op));
        }
        assert_eq!(Operation::from_name("assumeRole"), None);
        assert_eq!(Operation::AssumeRole.iam_action(), "sts:AssumeRole");
        assert!(Operation::GetCallerIdentity.is_read_only());
        assert!(Operation::AssumeRole.is_read_only());
    }
}
