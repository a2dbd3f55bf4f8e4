//! The cryptographic operations: Encrypt, Decrypt, ReEncrypt, GenerateDataKey,
//! GenerateDataKeyWithoutPlaintext and GenerateRandom.
//!
//! SKELETON: the helper building the cryptographic operations fills this in.
