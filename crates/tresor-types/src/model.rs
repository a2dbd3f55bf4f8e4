//! String members of the AWS models as types that know their model constraints.
//!
//! Data path: a request member arrives as any JSON string and becomes, say, a [`SecretId`]
//! without failing; the request's validation then reads the constraint off the type
//! ([`ModelString::SHAPE`]) and reports a breach the way AWS does, with the member's name. So a
//! constraint (`SecretId`: 1 to 2,048 characters) is written once, here, and every member of
//! that shape is checked against the same numbers.
//!
//! These are identifiers and texts, never secret values: they serialize as the plain string
//! and their `Debug` is the string's.

use std::fmt;
use std::ops::Deref;

/// A character-class pattern of the model: the regular expression AWS names in its message,
/// and the test each character must pass.
#[derive(Clone, Copy)]
pub struct Pattern {
    pub regex: &'static str,
    pub allows: fn(char) -> bool,
}

/// The constraints the model puts on a string shape: its length in characters and, for some,
/// a pattern.
#[derive(Clone, Copy)]
pub struct StringShape {
    pub min: usize,
    pub max: usize,
    pub pattern: Option<Pattern>,
}

/// A string member whose shape is known.
pub trait ModelString: Deref<Target = str> {
    const SHAPE: StringShape;
}

macro_rules! model_string {
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr, $pattern:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl ModelString for $name {
            const SHAPE: StringShape = StringShape {
                min: $min,
                max: $max,
                pattern: $pattern,
            };
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

// ---------------------------------------------------------------- Secrets Manager

model_string!(
    /// `SecretId`: a secret's name, or its ARN (complete or without the random suffix).
    /// Whether a name is a possible one is a Secrets Manager rule checked after the model's.
    SecretId, 1, 2048, None
);
model_string!(
    /// `Name` of `CreateSecret`. The characters a name may hold are a Secrets Manager rule
    /// checked after the model's (its own error message, not the collected one).
    SecretName, 1, 512, None
);
model_string!(
    /// `VersionId` and `ClientRequestToken` (the token becomes the version's id). AWS accepts
    /// any printable token of that length (SDKs send UUIDs); control characters are refused.
    VersionId,
    32,
    64,
    Some(Pattern {
        regex: "^[\\x21-\\x7E]+$",
        allows: |c| c.is_ascii_graphic(),
    })
);
model_string!(
    /// A staging label (`VersionStage`, a member of `VersionStages`).
    StagingLabel, 1, 256, None
);
model_string!(
    /// `Description` of a secret.
    Description, 0, 2048, None
);
model_string!(
    /// `KmsKeyId`: a KMS key id, ARN, alias or alias ARN; empty means the default key.
    KmsKeyId, 0, 2048, None
);
model_string!(
    /// `Type` of a secret (the model's `SecretType`, free text to Tresor).
    SecretType, 0, 256, None
);
model_string!(
    /// `NextToken` of Secrets Manager's and CloudTrail's listings.
    NextToken, 1, 4096, None
);
model_string!(
    /// A tag's `Key` (`TagKeyList` members too).
    TagKey, 1, 128, None
);
model_string!(
    /// A tag's `Value`.
    TagValue, 0, 256, None
);
model_string!(
    /// A resource policy document (`ResourcePolicy`) as sent, not yet parsed.
    ResourcePolicyText, 1, 20_480, None
);
model_string!(
    /// A replica `Region` (the model's `RegionType`).
    RegionName,
    1,
    128,
    Some(Pattern {
        regex: "^([a-z]+-)+\\d+$",
        allows: |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
    })
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_json_string_decodes_and_encodes_as_itself() {
        for raw in ["", "a b!", "\u{2603}", &"x".repeat(5000)] {
            let json = serde_json::to_string(raw).unwrap();
            let id: SecretId = serde_json::from_str(&json).unwrap();
            assert_eq!(id.as_str(), raw);
            assert_eq!(serde_json::to_string(&id).unwrap(), json);
        }
        let v: VersionId = serde_json::from_str("\"\\u0001\"").unwrap();
        assert_eq!(&*v, "\u{1}");
    }

    #[test]
    fn debug_is_the_string_s() {
        let list = Some(vec![TagKey::from("env")]);
        assert_eq!(format!("{list:?}"), r#"Some(["env"])"#);
    }

    #[test]
    fn shapes_are_the_models() {
        assert_eq!((SecretId::SHAPE.min, SecretId::SHAPE.max), (1, 2048));
        assert_eq!((VersionId::SHAPE.min, VersionId::SHAPE.max), (32, 64));
        let p = VersionId::SHAPE.pattern.unwrap();
        assert!((p.allows)('~') && !(p.allows)(' '));
        let r = RegionName::SHAPE.pattern.unwrap();
        assert!((r.allows)('-') && !(r.allows)('A'));
    }
}
