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

/// What a [`StoreError::NotFound`] did not find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Secret,
    SecretVersion,
    AccessKey,
    User,
    Role,
    /// Groups are not stored: a group is always missing.
    Group,
    InlinePolicy,
    ManagedPolicy,
    PolicyVersion,
    /// The policy was not attached to the principal.
    Attachment,
}

impl Missing {
    /// The principal of this kind.
    pub fn of(kind: crate::PrincipalKind) -> Self {
        match kind {
            crate::PrincipalKind::User => Self::User,
            crate::PrincipalKind::Role => Self::Role,
            crate::PrincipalKind::Group => Self::Group,
        }
    }
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Secret => "secret",
            Self::SecretVersion => "secret version",
            Self::AccessKey => "access key",
            Self::User => "user",
            Self::Role => "role",
            Self::Group => "group",
            Self::InlinePolicy => "inline policy",
            Self::ManagedPolicy => "managed policy",
            Self::PolicyVersion => "policy version",
            Self::Attachment => "policy attachment",
        })
    }
}
