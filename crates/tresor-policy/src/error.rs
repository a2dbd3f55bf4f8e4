//! The one error this crate reports.

/// A policy document that is not valid JSON or breaks the IAM policy grammar.
///
/// `message` starts with the location of the problem (`Statement[1].Condition: …`) when there is
/// one; it is safe to show to the caller who submitted the document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PolicyError {
    /// What is wrong and where.
    pub message: String,
}

impl PolicyError {
    /// An error not tied to one element.
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// An error at `location` (`Statement[0].Action[2]`).
    pub(crate) fn at(location: &str, message: impl std::fmt::Display) -> Self {
        Self {
            message: format!("{location}: {message}"),
        }
    }
}
