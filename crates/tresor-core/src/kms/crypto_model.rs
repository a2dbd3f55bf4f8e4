//! Request and response shapes of KMS's cryptographic operations, named as in the botocore
//! `kms` model (2014-11-01), and each request's check against that model. Blobs are base64 on
//! the wire; plaintext arrives as [`PlaintextBlob`] (redacted `Debug`) and leaves only through
//! [`RevealedBlob`].

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tresor_crypto::EncryptionContext;
use tresor_types::SecretBytes;

pub use crate::secretsmanager::dto::RevealedBlob;
use crate::validate::{Validate, Validator};
use crate::CoreError;

/// `KeyIdType`: 1 to 2048 characters.
const KEY_ID_MAX: usize = 2048;
/// `CiphertextType`: 1 to 6144 bytes.
pub const CIPHERTEXT_MAX: usize = 6144;
/// `PlaintextType`: 1 to 4096 bytes.
pub const PLAINTEXT_MAX: usize = tresor_crypto::MAX_BLOB_PLAINTEXT;
/// `NumberOfBytesType`: 1 to 1024.
pub const NUMBER_OF_BYTES_MAX: i64 = 1024;
/// `GrantTokenList`: at most 10 tokens of 1 to 8192 characters.
const GRANT_TOKENS_MAX: usize = 10;
const GRANT_TOKEN_MAX: usize = 8192;

/// The one algorithm a symmetric key has.
pub const SYMMETRIC_DEFAULT: &str = "SYMMETRIC_DEFAULT";
const ENCRYPTION_ALGORITHMS: &[&str] = &[
    SYMMETRIC_DEFAULT,
    "RSAES_OAEP_SHA_1",
    "RSAES_OAEP_SHA_256",
    "SM2PKE",
];
const DATA_KEY_SPECS: &[&str] = &["AES_256", "AES_128"];

fn decode_base64<'de, D: Deserializer<'de>>(d: D, member: &str) -> Result<Vec<u8>, D::Error> {
    let text = zeroize::Zeroizing::new(String::deserialize(d)?);
    base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(|_| serde::de::Error::custom(format!("{member} is not valid base64")))
}

/// A `Plaintext` as sent by a client (base64 on the wire).
#[derive(Debug, Clone)]
pub struct PlaintextBlob(pub SecretBytes);

impl<'de> Deserialize<'de> for PlaintextBlob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        decode_base64(d, "Plaintext").map(|v| Self(SecretBytes::new(v)))
    }
}

/// A `CiphertextBlob` (base64 on the wire). Not secret: it is what callers store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiphertextBlob(pub Vec<u8>);

impl<'de> Deserialize<'de> for CiphertextBlob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        decode_base64(d, "CiphertextBlob").map(Self)
    }
}

impl Serialize for CiphertextBlob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct EncryptRequest {
    pub key_id: Option<String>,
    pub plaintext: Option<PlaintextBlob>,
    pub encryption_context: Option<EncryptionContext>,
    pub grant_tokens: Option<Vec<String>>,
    pub encryption_algorithm: Option<String>,
    pub dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncryptResponse {
    pub ciphertext_blob: CiphertextBlob,
    pub key_id: String,
    pub encryption_algorithm: &'static str,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct DecryptRequest {
    pub ciphertext_blob: Option<CiphertextBlob>,
    pub encryption_context: Option<EncryptionContext>,
    pub grant_tokens: Option<Vec<String>>,
    pub key_id: Option<String>,
    pub encryption_algorithm: Option<String>,
    /// Nitro enclave attestation: not something Tresor can honour.
    pub recipient: Option<serde_json::Value>,
    pub dry_run: Option<bool>,
    pub dry_run_modifiers: Option<Vec<String>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DecryptResponse {
    pub key_id: String,
    pub plaintext: RevealedBlob,
    pub encryption_algorithm: &'static str,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ReEncryptRequest {
    pub ciphertext_blob: Option<CiphertextBlob>,
    pub source_encryption_context: Option<EncryptionContext>,
    pub source_key_id: Option<String>,
    pub destination_key_id: Option<String>,
    pub destination_encryption_context: Option<EncryptionContext>,
    pub source_encryption_algorithm: Option<String>,
    pub destination_encryption_algorithm: Option<String>,
    pub grant_tokens: Option<Vec<String>>,
    pub dry_run: Option<bool>,
    pub dry_run_modifiers: Option<Vec<String>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReEncryptResponse {
    pub ciphertext_blob: CiphertextBlob,
    pub source_key_id: String,
    pub key_id: String,
    pub source_encryption_algorithm: &'static str,
    pub destination_encryption_algorithm: &'static str,
}

/// GenerateDataKey and GenerateDataKeyWithoutPlaintext take the same members (the latter
/// without `Recipient`, which either refuses).
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct GenerateDataKeyRequest {
    pub key_id: Option<String>,
    pub encryption_context: Option<EncryptionContext>,
    pub number_of_bytes: Option<i64>,
    pub key_spec: Option<String>,
    pub grant_tokens: Option<Vec<String>>,
    pub recipient: Option<serde_json::Value>,
    pub dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyResponse {
    pub ciphertext_blob: CiphertextBlob,
    pub plaintext: RevealedBlob,
    pub key_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyWithoutPlaintextResponse {
    pub ciphertext_blob: CiphertextBlob,
    pub key_id: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct GenerateRandomRequest {
    pub number_of_bytes: Option<i64>,
    pub custom_key_store_id: Option<String>,
    pub recipient: Option<serde_json::Value>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateRandomResponse {
    pub plaintext: RevealedBlob,
}

fn key_id(v: &mut Validator, value: Option<&String>, at: &str) {
    v.length(value.map(String::as_str), at, 1, KEY_ID_MAX);
}

fn grant_tokens(v: &mut Validator, tokens: Option<&Vec<String>>) {
    v.count(
        tokens.map(Vec::as_slice),
        "grantTokens",
        0,
        GRANT_TOKENS_MAX,
    );
    for (i, t) in tokens
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        v.length(
            Some(t),
            &format!("grantTokens.{}.member", i + 1),
            1,
            GRANT_TOKEN_MAX,
        );
    }
}

fn algorithm(v: &mut Validator, value: Option<&String>, at: &str) {
    v.one_of(value.map(String::as_str), at, ENCRYPTION_ALGORITHMS);
}

fn ciphertext(v: &mut Validator, blob: &Option<CiphertextBlob>) {
    v.required(blob, "ciphertextBlob");
    v.sensitive_length(
        blob.as_ref().map(|b| b.0.len()),
        "ciphertextBlob",
        1,
        CIPHERTEXT_MAX,
    );
}

impl Validate for EncryptRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.required(&self.key_id, "keyId");
        key_id(v, self.key_id.as_ref(), "keyId");
        v.required(&self.plaintext, "plaintext");
        v.sensitive_length(
            self.plaintext.as_ref().map(|p| p.0.len()),
            "plaintext",
            1,
            PLAINTEXT_MAX,
        );
        grant_tokens(v, self.grant_tokens.as_ref());
        algorithm(v, self.encryption_algorithm.as_ref(), "encryptionAlgorithm");
        Ok(())
    }
}

impl Validate for DecryptRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        ciphertext(v, &self.ciphertext_blob);
        grant_tokens(v, self.grant_tokens.as_ref());
        key_id(v, self.key_id.as_ref(), "keyId");
        algorithm(v, self.encryption_algorithm.as_ref(), "encryptionAlgorithm");
        Ok(())
    }
}

impl Validate for ReEncryptRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        ciphertext(v, &self.ciphertext_blob);
        key_id(v, self.source_key_id.as_ref(), "sourceKeyId");
        v.required(&self.destination_key_id, "destinationKeyId");
        key_id(v, self.destination_key_id.as_ref(), "destinationKeyId");
        algorithm(
            v,
            self.source_encryption_algorithm.as_ref(),
            "sourceEncryptionAlgorithm",
        );
        algorithm(
            v,
            self.destination_encryption_algorithm.as_ref(),
            "destinationEncryptionAlgorithm",
        );
        grant_tokens(v, self.grant_tokens.as_ref());
        Ok(())
    }
}

impl Validate for GenerateDataKeyRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.required(&self.key_id, "keyId");
        key_id(v, self.key_id.as_ref(), "keyId");
        v.range(
            self.number_of_bytes,
            "numberOfBytes",
            1,
            NUMBER_OF_BYTES_MAX,
        );
        v.one_of(self.key_spec.as_deref(), "keySpec", DATA_KEY_SPECS);
        grant_tokens(v, self.grant_tokens.as_ref());
        Ok(())
    }
}

impl Validate for GenerateRandomRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.range(
            self.number_of_bytes,
            "numberOfBytes",
            1,
            NUMBER_OF_BYTES_MAX,
        );
        v.length(
            self.custom_key_store_id.as_deref(),
            "customKeyStoreId",
            1,
            64,
        );
        Ok(())
    }
}

impl GenerateDataKeyRequest {
    /// The data key's length: `KeySpec` xor `NumberOfBytes`, as AWS requires (checked after
    /// the model, with AWS's own message).
    pub fn data_key_len(&self) -> Result<usize, CoreError> {
        let len = match (self.key_spec.as_deref(), self.number_of_bytes) {
            (Some("AES_256"), None) => Some(32),
            (Some("AES_128"), None) => Some(16),
            (None, Some(n)) => usize::try_from(n).ok(),
            _ => None,
        };
        len.ok_or_else(|| {
            CoreError::Validation("Please specify either number of bytes or key spec.".to_owned())
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn parse<T: serde::de::DeserializeOwned>(json: &str) -> T {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn plaintext_is_decoded_and_never_printed() {
        let req: EncryptRequest = parse(r#"{"KeyId":"k","Plaintext":"aHVudGVyMg=="}"#);
        assert_eq!(req.plaintext.as_ref().unwrap().0.expose(), b"hunter2");
        assert!(!format!("{req:?}").contains("hunter2"));
        assert!(req.validate().is_ok());
        assert!(serde_json::from_str::<EncryptRequest>(r#"{"Plaintext":"%%%"}"#).is_err());
    }

    #[test]
    fn encrypt_checks_the_model() {
        let big = base64::engine::general_purpose::STANDARD.encode(vec![0u8; 4097]);
        let req: EncryptRequest = parse(&format!(r#"{{"KeyId":"k","Plaintext":"{big}"}}"#));
        assert_eq!(
            req.validate().unwrap_err().to_string(),
            "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: \
             Member must have length less than or equal to 4096"
        );
        let req: EncryptRequest = parse(r#"{"EncryptionAlgorithm":"AES"}"#);
        let msg = req.validate().unwrap_err().to_string();
        assert!(msg.starts_with("3 validation errors detected: "), "{msg}");
        assert!(msg.contains("Value 'null' at 'keyId'"), "{msg}");
        assert!(msg.contains("Value 'null' at 'plaintext'"), "{msg}");
        assert!(
            msg.contains("Value 'AES' at 'encryptionAlgorithm'"),
            "{msg}"
        );
    }

    #[test]
    fn data_key_length_is_key_spec_xor_number_of_bytes() {
        let len = |json: &str| parse::<GenerateDataKeyRequest>(json).data_key_len();
        assert_eq!(len(r#"{"KeySpec":"AES_256"}"#).unwrap(), 32);
        assert_eq!(len(r#"{"KeySpec":"AES_128"}"#).unwrap(), 16);
        assert_eq!(len(r#"{"NumberOfBytes":1024}"#).unwrap(), 1024);
        for bad in ["{}", r#"{"KeySpec":"AES_256","NumberOfBytes":32}"#] {
            assert_eq!(
                len(bad).unwrap_err().to_string(),
                "Please specify either number of bytes or key spec."
            );
        }
        let req: GenerateDataKeyRequest = parse(r#"{"KeyId":"k","NumberOfBytes":1025}"#);
        assert_eq!(
            req.validate().unwrap_err().to_string(),
            "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy \
             constraint: Member must have value less than or equal to 1024"
        );
    }

    #[test]
    fn ciphertext_round_trips_as_base64() {
        let req: DecryptRequest = parse(r#"{"CiphertextBlob":"AQID"}"#);
        assert_eq!(req.ciphertext_blob.as_ref().unwrap().0, vec![1, 2, 3]);
        assert_eq!(
            serde_json::to_string(&CiphertextBlob(vec![1, 2, 3])).unwrap(),
            r#""AQID""#
        );
        let missing: DecryptRequest = parse("{}");
        assert!(missing
            .validate()
            .unwrap_err()
            .to_string()
            .contains("Value 'null' at 'ciphertextBlob'"));
    }
}
