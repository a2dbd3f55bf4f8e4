//! The crate's one error type. Messages name the condition only: never key bytes, plaintext,
//! passphrases or key-file contents.

use std::fmt;

/// How a root key is sealed at rest (read from the sealed blob, or from an [`crate::Unsealer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnsealMethod {
    /// Argon2id over a passphrase.
    Passphrase,
    /// HKDF over the 32 bytes of a key file.
    KeyFile,
    /// HKDF over an unseal key rebuilt from Shamir shares.
    Shares,
}

impl fmt::Display for UnsealMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Passphrase => "a passphrase",
            Self::KeyFile => "a key file",
            Self::Shares => "unseal key shares",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The passphrase or key file does not open the sealed root key, or it is the other kind of
    /// unsealer than the one the store was sealed with (`sealed_with != given`).
    #[error("{}", wrong_unseal_key_message(*sealed_with, *given))]
    WrongUnsealKey {
        sealed_with: UnsealMethod,
        given: UnsealMethod,
    },
    /// A sealed root key or a wrapped KMS key is not in a format this crate writes.
    #[error("the sealed key is malformed or was written by an unknown format version")]
    MalformedSealedKey,
    /// An envelope or a value sealed with [`crate::seal_with`] is not in a format this crate
    /// writes.
    #[error("the ciphertext is malformed or was written by an unknown format version")]
    MalformedEnvelope,
    /// Authentication failed: wrong key, wrong encryption context / AAD, or tampered bytes.
    #[error("decryption failed: wrong key, wrong encryption context, or tampered ciphertext")]
    DecryptionFailed,
    /// A key file could not be parsed. The message describes the shape, never the contents.
    #[error("invalid key file: {0}")]
    KeyFile(String),
    /// A Shamir share or share scheme is malformed. The message describes the shape, never a
    /// share's text.
    #[error("invalid share: {0}")]
    Share(&'static str),
    /// The crypto library or the system random number generator failed, or a caller passed
    /// arguments outside what this crate supports.
    #[error("internal cryptography error: {0}")]
    Internal(&'static str),
}

fn wrong_unseal_key_message(sealed_with: UnsealMethod, given: UnsealMethod) -> &'static str {
    match (sealed_with, given) {
        (UnsealMethod::Passphrase, UnsealMethod::Passphrase) => {
            "wrong passphrase: it does not unseal this store"
        }
        (UnsealMethod::KeyFile, UnsealMethod::KeyFile) => {
            "wrong key file: it does not unseal this store"
        }
        (UnsealMethod::Passphrase, UnsealMethod::KeyFile) => {
            "this store is sealed with a passphrase, not a key file"
        }
        (UnsealMethod::KeyFile, UnsealMethod::Passphrase) => {
            "this store is sealed with a key file, not a passphrase"
        }
        // Says nothing about which share was wrong: the combined key is all there is to check.
        (UnsealMethod::Shares, UnsealMethod::Shares) => "the shares do not open this store",
        (UnsealMethod::Shares, _) => "this store is sealed with unseal key shares",
        (_, UnsealMethod::Shares) => {
            "this store is sealed with a passphrase or key file, not unseal key shares"
        }
    }
}
