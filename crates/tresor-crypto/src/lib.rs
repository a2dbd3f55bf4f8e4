//! Tresor's cryptography: the only crate that touches aws-lc-rs and argon2.
//!
//! Data path, from the outside in:
//!
//! 1. **Root key** ([`RootKey`], 256 bits). At rest it exists only sealed
//!    ([`seal_root_key`] / [`unseal_root_key`]) under a key-encryption key derived from an
//!    [`Unsealer`]: Argon2id over a passphrase, HKDF over a key file ([`parse_key_file`]), or
//!    HKDF over an unseal key split into Shamir [`Share`]s ([`split_secret`]).
//!    Dev mode uses [`RootKey::generate`] and never seals.
//! 2. **Subkeys** ([`RootKey::subkey`], HKDF-SHA256, one label per purpose in [`labels`]):
//!    access-key sealing ([`seal_with`] / [`open_with`]), value digests, the audit MAC
//!    ([`hmac_sha256`]) and the audit checkpoint signing key ([`Ed25519SigningKey`]).
//! 3. **KMS keys**: each version is a [`KeyMaterial`] stored wrapped under the root key
//!    ([`RootKey::wrap_key`], AAD = key ARN and version). Rotation adds a version; old versions
//!    stay to open old envelopes.
//! 4. **Secret values**: [`seal_envelope`] seals each value under a fresh data key, wraps the
//!    data key under the KMS key material, and binds both to the [`EncryptionContext`]
//!    `{"SecretARN", "SecretVersionId"}`; so a ciphertext moved to another secret or version
//!    fails with [`CryptoError::DecryptionFailed`]. [`envelope_header`] names the key version
//!    to load before [`open_envelope`].
//! 5. **KMS ciphertext blobs** (Encrypt, Decrypt, GenerateDataKey, ReEncrypt):
//!    [`seal_ciphertext_blob`] seals up to 4096 bytes under a per-version key derived from the
//!    KMS key material, naming the key id and version in the clear and bound to the request's
//!    [`EncryptionContext`]; [`ciphertext_blob_header`] tells Decrypt which key to load.
//!
//! Every ciphertext format starts with a version byte and is bound to its identity through
//! the AAD; AES-256-GCM nonces come from aws-lc-rs's `RandomizedNonceKey`, never from a
//! counter kept here. Keys and plaintexts live in zeroizing types that print `[REDACTED]`, and
//! no error message carries secret bytes. Parsers never index out of bounds: any input gives
//! `Ok` or `Err`, never a panic.

mod access_keys;
mod aead;
mod ciphertext_blob;
mod envelope;
mod error;
mod keys;
mod root;
mod shamir;
mod signing;
mod util;

pub use access_keys::{new_access_key_id, new_secret_access_key};
pub use aead::{open_with, seal_with};
pub use ciphertext_blob::{
    ciphertext_blob_header, open_ciphertext_blob, seal_ciphertext_blob, CiphertextBlobHeader,
    BLOB_KEY_LABEL, MAX_BLOB_PLAINTEXT,
};
pub use envelope::{
    envelope_header, open_envelope, seal_envelope, EncryptionContext, EnvelopeHeader,
};
pub use error::{CryptoError, UnsealMethod};
pub use keys::{labels, KeyMaterial, RootKey};
pub use root::{
    encode_key_file, generate_key_file, parse_key_file, seal_root_key, seal_root_key_with_params,
    sealed_root_key_method, sealed_root_key_scheme, unseal_root_key, Argon2Params, Unsealer,
    KEY_FILE_LEN,
};
pub use shamir::{combine_shares, split_secret, Share, ShareScheme, SHAMIR_SECRET_LEN};
pub use signing::{verify_ed25519, Ed25519SigningKey};
pub use util::{ct_eq, hmac_sha256, random_bytes, sha256};
