//! Building seeded secrets exactly as `CreateSecret` stores them (tresor-core
//! `secretsmanager/write.rs`: `create_secret` and `prepare_version`): an ARN
//! `arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 random chars>`, a UUID version
//! id (what SDKs send as `ClientRequestToken`), the value sealed by `Keyring::seal_value` under
//! the scope's default key and bound to `{SecretARN, SecretVersionId}`, its keyed digest from
//! `Keyring::value_digest`, and the one version staged `AWSCURRENT`.

use std::path::Path;

use tresor_core::keyring::ValueKind;
use tresor_core::secretsmanager::AWSCURRENT;
use tresor_core::Keyring;
use tresor_crypto::Unsealer;
use tresor_store::{KmsKeyRecord, Scope, SealedVersion, SecretRecord, VersionMeta};
use tresor_types::{SecretBytes, Timestamp};

/// Secrets ready for `Store::create_secret`, in name order.
pub type Batch = Vec<(SecretRecord, SealedVersion)>;

/// The characters of ARN suffixes (as tresor-core's private `random_suffix`) and of values.
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const SUFFIX_LEN: usize = 6;

/// Read a key file as `tresor server --unseal-key-file` does.
pub fn unsealer_from_key_file(path: &Path) -> crate::BenchResult<Unsealer> {
    let contents = SecretBytes::new(
        std::fs::read(path).map_err(|e| format!("cannot read key file {}: {e}", path.display()))?,
    );
    let key = tresor_crypto::parse_key_file(contents.expose())
        .map_err(|e| format!("key file {}: {e}", path.display()))?;
    Ok(Unsealer::KeyFile(key))
}

/// Seals the values of seeded secrets.
pub struct Sealer<'a> {
    pub keyring: &'a Keyring,
    pub key: &'a KmsKeyRecord,
    pub scope: &'a Scope,
    pub prefix: &'a str,
    pub value_size: usize,
}

impl Sealer<'_> {
    /// Secrets `<prefix>{first}` .. `<prefix>{first+n-1}`.
    pub fn batch(&self, first: u64, n: u64) -> crate::BenchResult<Batch> {
        let per_secret = SUFFIX_LEN + self.value_size;
        let len = usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(per_secret))
            .ok_or("batch too large")?;
        // Random bytes for every suffix and value of the batch, drawn at once; zeroized on drop
        // because they become plaintext values.
        let random = SecretBytes::new(
            tresor_crypto::random_bytes(len).map_err(|e| format!("random bytes: {e}"))?,
        );
        random
            .expose()
            .chunks_exact(per_secret)
            .zip(first..first + n)
            .map(|(bytes, i)| {
                let (suffix, value) = bytes.split_at(SUFFIX_LEN);
                self.secret(&format!("{}{i}", self.prefix), suffix, value)
            })
            .collect()
    }

    fn secret(
        &self,
        name: &str,
        suffix_bytes: &[u8],
        value_bytes: &[u8],
    ) -> crate::BenchResult<(SecretRecord, SealedVersion)> {
        let now = Timestamp::now();
        let arn = format!(
            "arn:aws:secretsmanager:{}:{}:secret:{name}-{}",
            self.scope.region,
            self.scope.account,
            String::from_utf8_lossy(&to_alphabet(suffix_bytes))
        );
        let version_id = uuid::Uuid::new_v4().to_string();
        let value = SecretBytes::new(to_alphabet(value_bytes));
        let envelope = self
            .keyring
            .seal_value(self.key, &arn, &version_id, ValueKind::String, &value)
            .map_err(|e| format!("sealing a value failed: {e}"))?;
        let meta = VersionMeta {
            version_id: version_id.clone(),
            stages: vec![AWSCURRENT.to_owned()],
            created: now,
            last_accessed: None,
            value_digest: self.keyring.value_digest(&arn, ValueKind::String, &value),
            kms_key_id: self.key.key_id.clone(),
        };
        let record = SecretRecord {
            scope: self.scope.clone(),
            arn,
            name: name.to_owned(),
            description: None,
            // `None` means the default key, as when CreateSecret gets no KmsKeyId.
            kms_key_id: None,
            tags: Vec::new(),
            resource_policy: None,
            rotation: None,
            replication: None,
            created: now,
            last_changed: now,
            last_accessed: None,
            deletion: None,
            versions: vec![meta],
        };
        Ok((
            record,
            SealedVersion {
                version_id,
                envelope,
            },
        ))
    }
}

/// Map random bytes onto [`ALPHABET`] (the modulo bias is irrelevant for names and test
/// values).
fn to_alphabet(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .map(|b| {
            ALPHABET
                .get(*b as usize % ALPHABET.len())
                .copied()
                .unwrap_or(b'A')
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_use_the_arn_alphabet() {
        let s = to_alphabet(&[0, 61, 62, 255]);
        assert_eq!(s, b"A9AH");
    }
}
