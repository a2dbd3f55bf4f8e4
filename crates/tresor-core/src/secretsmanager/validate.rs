//! The Secrets Manager rules that go beyond the botocore model (whose constraints each request
//! type checks in [`super::model`]): what a name may hold, tag quotas, one value per version.
//! Each answers with its own error, not the model's collected one, at its place in the
//! operation's sequence.

use crate::CoreError;

pub const SECRET_VALUE_MAX: usize = 65_536;

/// A character a secret name may hold: an ASCII letter or digit, or one of `/_+=.@-` (AWS
/// also lists `!` in its message, but refuses it).
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b)
}

fn invalid_name() -> CoreError {
    CoreError::Validation(
        "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"
            .to_owned(),
    )
}

/// Names: 1–512 ASCII letters, digits and `/_+=.@-`.
pub fn secret_name(name: &str) -> Result<(), CoreError> {
    if !name.is_empty() && name.len() <= 512 && name.bytes().all(is_name_byte) {
        Ok(())
    } else {
        Err(invalid_name())
    }
}

/// A `SecretId` that is not an ARN names a secret, so it must be a possible name: AWS refuses
/// any other with the name error, on every operation, before looking anything up (so the
/// answer says nothing about what exists or what the caller may do). An ARN is looked up as
/// it is. The length (1–2,048) is the model's, checked with the other members.
pub fn secret_id(id: &str) -> Result<(), CoreError> {
    if id.starts_with("arn:") || id.bytes().all(is_name_byte) {
        Ok(())
    } else {
        Err(invalid_name())
    }
}

/// Tag rules beyond the model: at most 50 per secret, and the `aws:` prefix is reserved.
pub fn tag_rules(keys: impl Iterator<Item = String>, total: usize) -> Result<(), CoreError> {
    for k in keys {
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(CoreError::InvalidParameter(
                "Invalid tag key. The aws: prefix is reserved for AWS use.".to_owned(),
            ));
        }
    }
    if total > 50 {
        return Err(CoreError::LimitExceeded(
            "A secret can have at most 50 tags.".to_owned(),
        ));
    }
    Ok(())
}

/// `SecretString` and `SecretBinary` are mutually exclusive.
pub fn one_value(has_string: bool, has_binary: bool) -> Result<(), CoreError> {
    if has_string && has_binary {
        return Err(CoreError::InvalidParameter(
            "You can't specify both a binary secret value and a string secret value in the same secret."
                .to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(secret_name("openai/prod").is_ok());
        assert!(secret_name("a+b=c.d@e-f_g").is_ok());
        assert!(secret_name("bad name").is_err());
        assert!(secret_name("bad!").is_err());
        assert!(secret_name(&"x".repeat(513)).is_err());
        assert!(secret_name("").is_err());
    }

    #[test]
    fn secret_ids_are_names_or_arns() {
        assert!(secret_id("openai/prod").is_ok());
        assert!(secret_id(&"x".repeat(600)).is_ok());
        assert!(secret_id("arn:aws:secretsmanager:us-east-1:111111111111:secret:a b").is_ok());
        // Without its colon, "arn" is a name like any other.
        assert!(secret_id("arn").is_ok());
        for bad in ["Inv Name", "bang!", "star*", "emoji-\u{2603}", "ar n:x"] {
            assert!(secret_id(bad).is_err(), "{bad}");
        }
        let msg = secret_id("a b").unwrap_err().to_string();
        assert!(
            msg.starts_with("Invalid name. Must be a valid name"),
            "{msg}"
        );
    }
}
