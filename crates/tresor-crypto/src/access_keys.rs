//! Generating access key ids and secret access keys in the shape AWS uses.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use tresor_types::SecretBytes;
use zeroize::Zeroizing;

use crate::util::fill_random;
use crate::CryptoError;

const ID_ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ID_RANDOM_LEN: usize = 16;
/// 30 random bytes are exactly 40 base64 characters (240 bits), the length AWS uses.
const SECRET_RANDOM_LEN: usize = 30;

/// `prefix` (e.g. `"AKIA"` for long-term keys, `"ASIA"` for temporary ones) followed by 16
/// uniformly random characters from `A-Z0-9`. The prefix must be non-empty uppercase
/// alphanumeric ASCII.
pub fn new_access_key_id(prefix: &str) -> Result<String, CryptoError> {
    if prefix.is_empty()
        || !prefix
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Err(CryptoError::Internal(
            "an access key id prefix must be uppercase letters and digits",
        ));
    }
    let mut id = String::with_capacity(prefix.len() + ID_RANDOM_LEN);
    id.push_str(prefix);
    let mut pool = [0u8; 32];
    while id.len() < prefix.len() + ID_RANDOM_LEN {
        fill_random(&mut pool)?;
        // Rejection sampling keeps the choice uniform: 252 = 7 * 36.
        for &b in pool.iter().filter(|&&b| b < 252) {
            if id.len() == prefix.len() + ID_RANDOM_LEN {
                break;
            }
            id.push(char::from(ID_ALPHABET[usize::from(b % 36)]));
        }
    }
    Ok(id)
}

/// A 40-character secret access key from the base64 alphabet (`A-Za-z0-9+/`), like AWS's.
pub fn new_secret_access_key() -> Result<SecretBytes, CryptoError> {
    let mut raw = Zeroizing::new([0u8; SECRET_RANDOM_LEN]);
    fill_random(raw.as_mut_slice())?;
    // Exact capacity: the encoded buffer never reallocates, so no copy is left unzeroized.
    let mut text = String::with_capacity(SECRET_RANDOM_LEN / 3 * 4);
    STANDARD.encode_string(raw.as_slice(), &mut text);
    Ok(SecretBytes::new(text.into_bytes()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn access_key_ids_have_the_aws_shape() {
        for prefix in ["AKIA", "ASIA"] {
            let id = new_access_key_id(prefix).unwrap();
            assert_eq!(id.len(), 20);
            assert!(id.starts_with(prefix));
            assert!(id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        }
        assert_ne!(
            new_access_key_id("AKIA").unwrap(),
            new_access_key_id("AKIA").unwrap()
        );
        for bad in ["", "akia", "AK-A", "AKİA"] {
            assert!(new_access_key_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secret_access_keys_are_40_base64_chars() {
        let a = new_secret_access_key().unwrap();
        assert_eq!(a.len(), 40);
        assert!(a
            .expose()
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/'));
        assert_ne!(a, new_secret_access_key().unwrap());
    }
}
