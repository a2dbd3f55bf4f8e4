/// Why a store call failed. Messages never contain secret material: backends report SQL and
/// I/O failures by condition, and the server logs them without sending them to clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("a secret with this name already exists")]
    SecretExists { scheduled_for_deletion: bool },
    #[error("the store is already initialized")]
    AlreadyInitialized,
    #[error("conflicting record already exists")]
    Conflict,
    #[error("storage backend failure: {0}")]
    Backend(String),
}
