//! Rotation: `RotateSecret` and `CancelRotateSecret` as AWS runs them, with local rotators in
//! place of Lambda functions.
//!
//! - The **admin API** (`X-Amz-Target: TresorRotation.<Operation>`, SigV4 service name
//!   `rotation`, awsJson1.1) registers rotators and shows rotation's state; each operation is
//!   its own IAM action (`rotation:CreateRotator`, …) and is audited like every other call.
//! - A secret's rotation configuration and the state of a rotation in progress live in the
//!   secret's row ([`state`]), so they change with its versions in one transaction.
//! - [`schedule`] checks `RotationRules` and computes the windows.
//! - The engine (crate `tresor-rotation`) asks the core which rotations are due, claims one
//!   (a lease, so one node runs it), calls the rotator step by step, and reports back.
//!
//! A rotator's ARN is `arn:aws:lambda:<region>:<account>:function:<name>`.

mod dto;
pub mod events;
pub mod rotators;
pub mod run;
pub mod schedule;
pub mod state;
mod status;

pub use dto::*;

/// The JSON target prefix of the admin API.
pub const TARGET_PREFIX: &str = "TresorRotation";

/// The rotation admin API's operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    CreateRotator,
    GetRotator,
    ListRotators,
    DeleteRotator,
    GetRotatorLogs,
    ListRotationStatus,
    RunDueRotations,
}

impl Operation {
    pub const ALL: [Operation; 7] = [
        Self::CreateRotator,
        Self::GetRotator,
        Self::ListRotators,
        Self::DeleteRotator,
        Self::GetRotatorLogs,
        Self::ListRotationStatus,
        Self::RunDueRotations,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::CreateRotator => "CreateRotator",
            Self::GetRotator => "GetRotator",
            Self::ListRotators => "ListRotators",
            Self::DeleteRotator => "DeleteRotator",
            Self::GetRotatorLogs => "GetRotatorLogs",
            Self::ListRotationStatus => "ListRotationStatus",
            Self::RunDueRotations => "RunDueRotations",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == name)
    }

    pub fn is_read_only(self) -> bool {
        matches!(
            self,
            Self::GetRotator | Self::ListRotators | Self::GetRotatorLogs | Self::ListRotationStatus
        )
    }

    pub fn changes_state(self) -> bool {
        !self.is_read_only()
    }
}

/// A rotator's ARN: the shape of a Lambda function's.
pub fn rotator_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:lambda:{region}:{account}:function:{name}")
}
