//! The CloudTrail event model and the redaction of secret-bearing request/response members.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tresor_types::Timestamp;
use uuid::Uuid;

/// CloudTrail's `eventVersion` for the record shape below.
pub const EVENT_VERSION: &str = "1.08";
/// `eventSource` of Secrets Manager calls.
pub const SECRETS_MANAGER_SOURCE: &str = "secretsmanager.amazonaws.com";
/// `eventSource` of KMS calls.
pub const KMS_SOURCE: &str = "kms.amazonaws.com";
/// `eventSource` of IAM calls.
pub const IAM_SOURCE: &str = "iam.amazonaws.com";
/// `eventSource` of STS calls.
pub const STS_SOURCE: &str = "sts.amazonaws.com";
/// `eventSource` of CloudTrail calls.
pub const CLOUDTRAIL_SOURCE: &str = "cloudtrail.amazonaws.com";
/// `eventType` of what a service did on its own, on no caller's request (the purge of a secret
/// whose recovery window ended).
pub const AWS_SERVICE_EVENT: &str = "AwsServiceEvent";
/// The value CloudTrail writes in place of a secret-bearing member.
pub const HIDDEN: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

/// One audit record's content: a CloudTrail event. Field names serialize exactly as CloudTrail
/// writes them (`eventVersion`, `userIdentity`, …, `sourceIPAddress`, `requestID`, `eventID`).
///
/// Build it with [`AuditEvent::new`], fill in the rest, then take [`AuditEvent::canonical_json`]
/// (which always redacts) as the string the chain hashes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    /// Always [`EVENT_VERSION`].
    pub event_version: String,
    pub user_identity: UserIdentity,
    /// ISO 8601 at second precision, e.g. `2026-11-28T15:00:00Z` (milliseconds are dropped).
    #[serde(with = "iso8601_seconds")]
    pub event_time: Timestamp,
    /// e.g. [`SECRETS_MANAGER_SOURCE`].
    pub event_source: String,
    /// The operation, e.g. `GetSecretValue`.
    pub event_name: String,
    pub aws_region: String,
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: String,
    pub user_agent: String,
    /// The request's parameters (redacted), or `null`.
    #[serde(default)]
    pub request_parameters: Value,
    /// The response's elements (redacted), or `null` (CloudTrail writes `null` for reads such as
    /// `GetSecretValue`).
    #[serde(default)]
    pub response_elements: Value,
    /// Free-form extra data (redacted), e.g. the policy statements that decided an authorization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_event_data: Option<Value>,
    /// The id returned to the client in `x-amzn-RequestId`.
    #[serde(rename = "requestID")]
    pub request_id: String,
    #[serde(rename = "eventID")]
    pub event_id: Uuid,
    pub read_only: bool,
    #[serde(default)]
    pub resources: Vec<Resource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The account whose trail holds the event (the tenant).
    pub recipient_account_id: String,
    /// `AwsApiCall`, or [`AWS_SERVICE_EVENT`] for what a service did on its own.
    pub event_type: String,
    /// Always `true`.
    pub management_event: bool,
    /// Always `Management`.
    pub event_category: String,
}

impl AuditEvent {
    /// An event with CloudTrail's constants filled in, a fresh `eventID`, an `Unknown` identity,
    /// `readOnly` guessed from the name ([`is_read_only_operation`]; a caller that knows the
    /// operation sets it), and empty/`null` everything else.
    pub fn new(
        event_source: impl Into<String>,
        event_name: impl Into<String>,
        aws_region: impl Into<String>,
        recipient_account_id: impl Into<String>,
        event_time: Timestamp,
    ) -> Self {
        let event_name = event_name.into();
        Self {
            event_version: EVENT_VERSION.to_owned(),
            user_identity: UserIdentity::unknown(),
            event_time,
            event_source: event_source.into(),
            read_only: is_read_only_operation(&event_name),
            event_name,
            aws_region: aws_region.into(),
            source_ip_address: String::new(),
            user_agent: String::new(),
            request_parameters: Value::Null,
            response_elements: Value::Null,
            additional_event_data: None,
            request_id: String::new(),
            // Time-ordered (UUIDv7): the store's event-id index then grows at its end instead
            // of dirtying a random page per record.
            event_id: Uuid::now_v7(),
            resources: Vec::new(),
            error_code: None,
            error_message: None,
            recipient_account_id: recipient_account_id.into(),
            event_type: "AwsApiCall".to_owned(),
            management_event: true,
            event_category: "Management".to_owned(),
        }
    }

    /// Applies [`redact`] to `requestParameters`, `responseElements` and `additionalEventData`.
    pub fn redact(&mut self) {
        redact(&mut self.request_parameters);
        redact(&mut self.response_elements);
        if let Some(extra) = self.additional_event_data.as_mut() {
            redact(extra);
        }
    }

    /// The string the chain hashes: compact JSON of a **redacted** copy of this event (so an
    /// event that was never passed through [`AuditEvent::redact`] still cannot leak), members
    /// in declaration order. The chain hashes the bytes it is given and never re-serializes, so
    /// this only has to be deterministic for one call, not across versions.
    pub fn canonical_json(&self) -> Result<String, serde_json::Error> {
        let mut copy = self.clone();
        copy.redact();
        serde_json::to_string(&copy)
    }

    /// Parses an event back from its stored JSON (for `LookupEvents`).
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }
}

/// CloudTrail's `userIdentity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    #[serde(rename = "type")]
    pub identity_type: IdentityType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Also recorded for failed authentication (the key id the caller presented).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// Present for assumed-role sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_context: Option<SessionContext>,
    /// The service that acted, for what a service did on its own (`AWSService`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<String>,
}

impl UserIdentity {
    /// `{"type": "Unknown"}`: e.g. a request whose signature did not verify.
    pub fn unknown() -> Self {
        Self {
            identity_type: IdentityType::Unknown,
            principal_id: None,
            arn: None,
            account_id: None,
            access_key_id: None,
            user_name: None,
            session_context: None,
            invoked_by: None,
        }
    }

    /// `{"type": "AWSService", "accountId": …, "invokedBy": "secretsmanager.amazonaws.com"}`:
    /// the service itself acted in `account`, on no caller's request.
    pub fn aws_service(account: impl Into<String>, service: impl Into<String>) -> Self {
        Self {
            identity_type: IdentityType::AwsService,
            account_id: Some(account.into()),
            invoked_by: Some(service.into()),
            ..Self::unknown()
        }
    }
}

/// `userIdentity.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdentityType {
    Root,
    #[serde(rename = "IAMUser")]
    IamUser,
    AssumedRole,
    /// The service itself, on no caller's request: the purge at the end of a recovery window,
    /// or the record that says a group of earlier records describes changes that never
    /// committed.
    #[serde(rename = "AWSService")]
    AwsService,
    Unknown,
}

/// `userIdentity.sessionContext` of an assumed-role session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_issuer: Option<SessionIssuer>,
    pub attributes: SessionAttributes,
}

/// `sessionContext.sessionIssuer`: the role that was assumed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionIssuer {
    /// `Role`.
    #[serde(rename = "type")]
    pub issuer_type: String,
    pub principal_id: String,
    pub arn: String,
    pub account_id: String,
    pub user_name: String,
}

/// `sessionContext.attributes`; CloudTrail writes both as strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionAttributes {
    /// ISO 8601, e.g. `2026-11-28T14:00:00Z`.
    pub creation_date: String,
    /// `"true"` or `"false"`.
    pub mfa_authenticated: String,
}

/// One entry of `resources`: `{"ARN", "accountId", "type"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    #[serde(rename = "ARN")]
    pub arn: String,
    #[serde(rename = "accountId")]
    pub account_id: String,
    /// e.g. `AWS::SecretsManager::Secret`, `AWS::KMS::Key`.
    #[serde(rename = "type")]
    pub resource_type: String,
}

/// Whether CloudTrail marks `operation` `readOnly`: reads (`Get*`, `List*`, `Describe*`,
/// `BatchGet*`, `Lookup*`, `Validate*`) and the KMS cryptographic operations that change no state.
pub fn is_read_only_operation(operation: &str) -> bool {
    const PREFIXES: &[&str] = &["Get", "List", "Describe", "BatchGet", "Lookup", "Validate"];
    const EXACT: &[&str] = &[
        "Encrypt",
        "Decrypt",
        "ReEncrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "GenerateRandom",
        "GenerateMac",
        "VerifyMac",
        "Sign",
        "Verify",
    ];
    PREFIXES.iter().any(|p| operation.starts_with(p)) || EXACT.contains(&operation)
}

/// Member-name fragments (lowercase, alphanumerics only) whose members carry secrets.
const SECRET_FRAGMENTS: &[&str] = &[
    "secretstring",
    "secretbinary",
    "password",
    "rotationtoken",
    "plaintext",
    "ciphertext",
    "secretaccesskey",
    "sessiontoken",
    "privatekey",
    "keymaterial",
    "importtoken",
    "webidentitytoken",
    "samlassertion",
    "tokencode",
    // A webhook rotator's signing key, shown once by CreateRotator.
    "signingsecret",
];

/// Members that match a fragment but are known to hold only settings; they keep a number or
/// boolean value (any other value is still hidden).
const HARMLESS_SETTINGS: &[&str] = &[
    "passwordlength",
    "passwordresetrequired",
    "minimumpasswordlength",
    "maxpasswordage",
    "passwordreuseprevention",
    "allowuserstochangepassword",
    "expirepasswords",
];

/// Whether a member named `name` holds a secret: its name, lowercased with everything but
/// ASCII letters and digits removed (so `SecretAccessKey`, `secretAccessKey` and
/// `secret_access_key` agree), contains one of the secret fragments.
pub fn is_secret_member(name: &str) -> bool {
    let norm = normalize(name);
    SECRET_FRAGMENTS.iter().any(|f| norm.contains(f))
}

fn normalize(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Replaces, anywhere in `value`, the value of every secret-bearing member with the string
/// [`HIDDEN`] (`"HIDDEN_DUE_TO_SECURITY_REASONS"`, as CloudTrail does).
///
/// Secret-bearing (case-insensitive, `_`/`-` ignored): any member whose name contains
/// `SecretString`, `SecretBinary`, `Password` (so `RandomPassword`), `RotationToken`,
/// `Plaintext`, `Ciphertext` (so `CiphertextBlob`), `SecretAccessKey`, `SessionToken`,
/// `PrivateKey`, `KeyMaterial`, `ImportToken`, `WebIdentityToken`, `SAMLAssertion` or
/// `TokenCode`, whatever the value's type (an object or array under such a name is hidden
/// whole). The exceptions are a few password-*policy* settings (`PasswordLength`,
/// `PasswordResetRequired`, `MinimumPasswordLength`, …) when their value is a number or a
/// boolean. Everything else (`ARN`, `Name`, `SecretId`, `VersionId`, `VersionStages`,
/// `AccessKeyId`, `KeyId`, tags…) is kept and searched recursively.
pub fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (name, member) in map.iter_mut() {
                if is_secret_member(name) {
                    let harmless = HARMLESS_SETTINGS.contains(&normalize(name).as_str())
                        && matches!(member, Value::Number(_) | Value::Bool(_));
                    if !harmless {
                        *member = Value::String(HIDDEN.to_owned());
                    }
                } else {
                    redact(member);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

/// `eventTime` as `YYYY-MM-DDTHH:MM:SSZ` (UTC, second precision).
pub(crate) mod iso8601_seconds {
    use serde::{de, ser, Deserialize, Deserializer, Serializer};
    use time::macros::format_description;
    use time::{OffsetDateTime, PrimitiveDateTime};
    use tresor_types::Timestamp;

    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

    /// The UTC date-time of `t` (milliseconds floored to the second), if representable.
    pub(crate) fn datetime(t: Timestamp) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp(t.millis().div_euclid(1000)).ok()
    }

    pub(crate) fn format(t: Timestamp) -> Option<String> {
        datetime(t).and_then(|dt| dt.format(FORMAT).ok())
    }

    pub(crate) fn parse(s: &str) -> Option<Timestamp> {
        let dt = PrimitiveDateTime::parse(s, FORMAT).ok()?.assume_utc();
        Some(Timestamp::from_millis(
            dt.unix_timestamp().checked_mul(1000)?,
        ))
    }

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        let text = format(*t).ok_or_else(|| ser::Error::custom("eventTime out of range"))?;
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).ok_or_else(|| de::Error::custom("eventTime is not YYYY-MM-DDTHH:MM:SSZ"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> AuditEvent {
        let mut e = AuditEvent::new(
            SECRETS_MANAGER_SOURCE,
            "GetSecretValue",
            "us-east-1",
            "111122223333",
            Timestamp::from_millis(1_795_878_000_123),
        );
        e.user_identity = UserIdentity {
            identity_type: IdentityType::AssumedRole,
            principal_id: Some("AROAEXAMPLE:ci".into()),
            arn: Some("arn:aws:sts::111122223333:assumed-role/deploy/ci".into()),
            account_id: Some("111122223333".into()),
            access_key_id: Some("ASIAEXAMPLE".into()),
            user_name: None,
            session_context: Some(SessionContext {
                session_issuer: Some(SessionIssuer {
                    issuer_type: "Role".into(),
                    principal_id: "AROAEXAMPLE".into(),
                    arn: "arn:aws:iam::111122223333:role/deploy".into(),
                    account_id: "111122223333".into(),
                    user_name: "deploy".into(),
                }),
                attributes: SessionAttributes {
                    creation_date: "2026-11-28T14:00:00Z".into(),
                    mfa_authenticated: "false".into(),
                },
            }),
            invoked_by: None,
        };
        e.request_parameters = json!({"secretId": "prod/openai", "SecretString": "sk-live"});
        e.resources.push(Resource {
            arn: "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/openai-AbCdEf".into(),
            account_id: "111122223333".into(),
            resource_type: "AWS::SecretsManager::Secret".into(),
        });
        e
    }

    #[test]
    fn serializes_with_cloudtrail_names() {
        let e = sample();
        let v: Value = serde_json::from_str(&e.canonical_json().unwrap()).unwrap();
        assert_eq!(v["eventVersion"], "1.08");
        assert_eq!(v["eventTime"], "2026-11-28T15:00:00Z");
        assert_eq!(v["eventSource"], "secretsmanager.amazonaws.com");
        assert_eq!(v["userIdentity"]["type"], "AssumedRole");
        assert_eq!(
            v["userIdentity"]["sessionContext"]["sessionIssuer"]["type"],
            "Role"
        );
        assert_eq!(
            v["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"],
            "false"
        );
        assert!(v.get("sourceIPAddress").is_some());
        assert!(v.get("requestID").is_some());
        assert_eq!(v["eventID"], e.event_id.to_string());
        assert_eq!(v["readOnly"], true);
        assert_eq!(v["resources"][0]["type"], "AWS::SecretsManager::Secret");
        assert!(v["resources"][0]["ARN"].is_string());
        assert_eq!(v["resources"][0]["accountId"], "111122223333");
        assert_eq!(v["recipientAccountId"], "111122223333");
        assert_eq!(v["eventType"], "AwsApiCall");
        assert_eq!(v["managementEvent"], true);
        assert_eq!(v["eventCategory"], "Management");
        assert_eq!(v["responseElements"], Value::Null);
        assert!(v.get("errorCode").is_none());
        // canonical_json redacts even if redact() was never called.
        assert_eq!(v["requestParameters"]["SecretString"], HIDDEN);
        assert_eq!(v["requestParameters"]["secretId"], "prod/openai");
    }

    #[test]
    fn round_trips_through_json() {
        let mut e = sample();
        e.redact();
        e.error_code = Some("AccessDeniedException".into());
        e.error_message = Some("denied".into());
        let json = e.canonical_json().unwrap();
        let back = AuditEvent::from_json(&json).unwrap();
        let mut expected = e.clone();
        expected.event_time = Timestamp::from_millis(1_795_878_000_000);
        assert_eq!(back, expected);
        assert_eq!(back.canonical_json().unwrap(), json);
        let failed_auth = AuditEvent::new(STS_SOURCE, "GetCallerIdentity", "", "", e.event_time);
        let v: Value = serde_json::from_str(&failed_auth.canonical_json().unwrap()).unwrap();
        assert_eq!(v["userIdentity"], json!({"type": "Unknown"}));
    }

    #[test]
    fn read_only_operations() {
        for op in [
            "GetSecretValue",
            "ListSecrets",
            "DescribeKey",
            "Decrypt",
            "LookupEvents",
        ] {
            assert!(is_read_only_operation(op), "{op}");
        }
        for op in [
            "PutSecretValue",
            "CreateSecret",
            "RotateSecret",
            "TagResource",
        ] {
            assert!(!is_read_only_operation(op), "{op}");
        }
    }

    #[test]
    fn redact_removes_every_secret_member_and_keeps_the_rest() {
        let mut v = json!({
            "ARN": "arn:aws:secretsmanager:us-east-1:111122223333:secret:a-AbCdEf",
            "Name": "a",
            "VersionId": "v1",
            "VersionStages": ["AWSCURRENT"],
            "SecretString": "s3cr3t",
            "secretBinary": "AAEC",
            "ClientRequestToken": "tok-1",
            "RotationToken": "rt",
            "SecretValues": [
                {"ARN": "arn:1", "Name": "one", "SecretString": "v1", "VersionStages": ["AWSPENDING"]},
                {"ARN": "arn:2", "SecretBinary": {"nested": "x"}}
            ],
            "Credentials": {
                "AccessKeyId": "ASIAEXAMPLE",
                "SecretAccessKey": "wJalr",
                "SessionToken": "FwoG",
                "Expiration": "2026-11-28T16:00:00Z"
            },
            "AccessKey": {"AccessKeyId": "AKIAEXAMPLE", "secret_access_key": "x"},
            "LoginProfile": {"UserName": "bob", "Password": "hunter2", "PasswordResetRequired": true},
            "NewPassword": 123456,
            "PasswordLength": 32,
            "RandomPassword": "Zx9",
            "KeyId": "arn:aws:kms:us-east-1:111122223333:key/1",
            "Plaintext": "cGxhaW4=",
            "CiphertextBlob": "AQID",
            "PrivateKeyPlaintext": "k",
            "EncryptedKeyMaterial": "m",
            "Tags": [{"Key": "team", "Value": "ml"}],
            "deep": [[{"x": {"sessionToken": ["a", "b"]}}]]
        });
        redact(&mut v);
        let hidden = json!(HIDDEN);
        for path in [
            "/SecretString",
            "/secretBinary",
            "/RotationToken",
            "/SecretValues/0/SecretString",
            "/SecretValues/1/SecretBinary",
            "/Credentials/SecretAccessKey",
            "/Credentials/SessionToken",
            "/AccessKey/secret_access_key",
            "/LoginProfile/Password",
            "/NewPassword",
            "/RandomPassword",
            "/Plaintext",
            "/CiphertextBlob",
            "/PrivateKeyPlaintext",
            "/EncryptedKeyMaterial",
            "/deep/0/0/x/sessionToken",
        ] {
            assert_eq!(v.pointer(path), Some(&hidden), "{path}");
        }
        for (path, kept) in [
            (
                "/ARN",
                json!("arn:aws:secretsmanager:us-east-1:111122223333:secret:a-AbCdEf"),
            ),
            ("/Name", json!("a")),
            ("/VersionId", json!("v1")),
            ("/VersionStages", json!(["AWSCURRENT"])),
            ("/ClientRequestToken", json!("tok-1")),
            ("/SecretValues/0/ARN", json!("arn:1")),
            ("/SecretValues/0/Name", json!("one")),
            ("/SecretValues/0/VersionStages", json!(["AWSPENDING"])),
            ("/SecretValues/1/ARN", json!("arn:2")),
            ("/Credentials/AccessKeyId", json!("ASIAEXAMPLE")),
            ("/Credentials/Expiration", json!("2026-11-28T16:00:00Z")),
            ("/AccessKey/AccessKeyId", json!("AKIAEXAMPLE")),
            ("/LoginProfile/UserName", json!("bob")),
            ("/LoginProfile/PasswordResetRequired", json!(true)),
            ("/PasswordLength", json!(32)),
            ("/KeyId", json!("arn:aws:kms:us-east-1:111122223333:key/1")),
            ("/Tags", json!([{"Key": "team", "Value": "ml"}])),
        ] {
            assert_eq!(v.pointer(path), Some(&kept), "{path}");
        }
        let text = v.to_string();
        for secret in [
            "s3cr3t", "AAEC", "wJalr", "FwoG", "hunter2", "123456", "Zx9", "cGxhaW4=",
        ] {
            assert!(!text.contains(secret), "{secret} leaked");
        }
        let again = v.clone();
        redact(&mut v);
        assert_eq!(v, again, "redaction is idempotent");
    }

    #[test]
    fn harmless_setting_names_still_hide_strings() {
        let mut v = json!({"PasswordLength": "hunter2"});
        redact(&mut v);
        assert_eq!(v["PasswordLength"], HIDDEN);
    }
}
