/// Why a store call failed. Messages never contain secret material: backends report SQL and
/// I/O failures by condition, and the server logs them without sending them to clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// What the call needed is missing: the caller answers its own "no such …" error.
    #[error("{0} not found")]
    NotFound(Missing),
    #[error("a secret with this name already exists")]
    SecretExists { scheduled_for_deletion: bool },
    #[error("the store is already initialized")]
    AlreadyInitialized,
    #[error("conflicting record already exists")]
    Conflict,
    #[error("storage backend failure: {0}")]
    Backend(String),
}

/// What a [`StoreError::NotFound`] did not find, named as the caller named it, so the caller
/// answers its own "no such …" error from it without knowing which step of the call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    Secret,
    SecretVersion,
    /// The access key with this id.
    AccessKey(String),
    /// The user, role or group of this kind and name.
    Principal {
        kind: crate::PrincipalKind,
        name: String,
    },
    /// The inline policy of this name, of a principal of this kind.
    InlinePolicy {
        kind: crate::PrincipalKind,
        name: String,
    },
    /// The managed policy with this ARN.
    ManagedPolicy(String),
    /// This version of the managed policy with this ARN.
    PolicyVersion {
        arn: String,
        version_id: String,
    },
    /// The managed policy with this ARN is not attached to the principal.
    Attachment(String),
    /// The AI gateway's route of this name.
    GatewayRoute(String),
    /// The AI gateway's key with this id.
    GatewayKey(String),
    /// The price override of this model.
    Price(String),
    /// The gateway budget of the user or role of this kind and name.
    PrincipalBudget {
        kind: crate::PrincipalKind,
        name: String,
    },
    /// The KMS key with this id.
    KmsKey(String),
}

impl Missing {
    /// The user, role or group `owner`.
    pub fn principal(owner: &crate::PrincipalName) -> Self {
        Self::Principal {
            kind: owner.kind,
            name: owner.name.clone(),
        }
    }

    pub fn user(name: &str) -> Self {
        Self::Principal {
            kind: crate::PrincipalKind::User,
            name: name.to_owned(),
        }
    }

    pub fn role(name: &str) -> Self {
        Self::Principal {
            kind: crate::PrincipalKind::Role,
            name: name.to_owned(),
        }
    }

    pub fn policy_version(arn: &str, version_id: &str) -> Self {
        Self::PolicyVersion {
            arn: arn.to_owned(),
            version_id: version_id.to_owned(),
        }
    }
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Secret => f.write_str("secret"),
            Self::SecretVersion => f.write_str("secret version"),
            Self::AccessKey(id) => write!(f, "access key {id}"),
            Self::Principal { kind, name } => write!(f, "{} {name}", kind.as_str()),
            Self::InlinePolicy { kind, name } => write!(f, "{} policy {name}", kind.as_str()),
            Self::ManagedPolicy(arn) => write!(f, "managed policy {arn}"),
            Self::PolicyVersion { arn, version_id } => {
                write!(f, "version {version_id} of policy {arn}")
            }
            Self::Attachment(arn) => write!(f, "attachment of policy {arn}"),
            Self::GatewayRoute(name) => write!(f, "gateway route {name}"),
            Self::GatewayKey(id) => write!(f, "gateway key {id}"),
            Self::Price(model) => write!(f, "price of model {model}"),
            Self::PrincipalBudget { kind, name } => {
                write!(f, "gateway budget of {} {name}", kind.as_str())
            }
            Self::KmsKey(id) => write!(f, "KMS key {id}"),
        }
    }
}
