//! The gateway admin API's answer shapes, read from their PascalCase wire form and written out
//! in the CLI's snake_case JSON, field by field (see [`crate::admin_api::answer`]).

use serde::{Deserialize, Serialize};

use crate::admin_api::answer::{date, optional_date};

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all(deserialize = "PascalCase", serialize = "snake_case"))]
pub struct Route {
    pub name: String,
    pub arn: String,
    pub provider: String,
    pub secret_id: String,
    #[serde(default)]
    pub base_url: Option<String>,
    pub allow_http: bool,
    pub has_ca_certificate: bool,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(serialize_with = "date")]
    pub created_date: f64,
    #[serde(serialize_with = "date")]
    pub last_changed_date: f64,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all(deserialize = "PascalCase", serialize = "snake_case"))]
pub struct Principal {
    /// `User` or `Role`.
    #[serde(rename(deserialize = "Type", serialize = "type"))]
    pub kind: String,
    pub name: String,
    pub arn: String,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all(deserialize = "PascalCase", serialize = "snake_case"))]
pub struct GatewayKey {
    pub key_id: String,
    pub principal: Principal,
    pub routes: Vec<String>,
    #[serde(default)]
    pub models: Vec<String>,
    #[serde(default)]
    pub budget_usd: Option<f64>,
    pub budget_period: String,
    #[serde(default)]
    pub rpm: Option<u64>,
    #[serde(default)]
    pub tpm: Option<u64>,
    #[serde(default, serialize_with = "optional_date")]
    pub expires_date: Option<f64>,
    /// `Active` or `Inactive`.
    pub status: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(serialize_with = "date")]
    pub created_date: f64,
}

/// `GetKeyUsage`'s answer.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all(deserialize = "PascalCase", serialize = "snake_case"))]
pub struct KeyUsage {
    pub key_id: String,
    pub budget_period: String,
    #[serde(serialize_with = "date")]
    pub period_start: f64,
    pub requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub spent_usd: f64,
    pub held_usd: f64,
    #[serde(default)]
    pub budget_usd: Option<f64>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all(deserialize = "PascalCase", serialize = "snake_case"))]
pub struct Price {
    pub model: String,
    pub input_per_million_usd: f64,
    pub output_per_million_usd: f64,
    #[serde(default)]
    pub cached_input_per_million_usd: Option<f64>,
    /// `default` or `override`; only `ListPrices` says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A user's or role's budget, with its use in the current period.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all(deserialize = "PascalCase", serialize = "snake_case"))]
pub struct Budget {
    pub principal: Principal,
    pub budget_usd: f64,
    pub budget_period: String,
    #[serde(serialize_with = "date")]
    pub period_start: f64,
    pub requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub spent_usd: f64,
    pub held_usd: f64,
    #[serde(serialize_with = "date")]
    pub last_changed_date: f64,
}

/// `CreateKey`'s answer in the CLI's JSON: the key itself, then the key's fields.
#[derive(Serialize)]
pub struct CreatedKey<'a> {
    pub key: &'a str,
    #[serde(flatten)]
    pub gateway_key: &'a GatewayKey,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::admin_api::answer::member;
    use serde_json::{json, Value};

    #[test]
    fn a_key_is_converted_field_by_field() {
        let mut answer = json!({"GatewayKey": {
            "KeyId": "gk-1", "Principal": {"Type": "Role", "Name": "r", "Arn": "arn:r"},
            "Routes": ["openai"], "BudgetPeriod": "month", "Status": "Active",
            "CreatedDate": 1_700_000_000.5, "ExpiresDate": 1_700_086_400.0, "NewField": 1
        }});
        let key: GatewayKey = member(&mut answer, "GatewayKey").unwrap();
        let out = serde_json::to_value(&key).unwrap();
        assert_eq!(out["key_id"], "gk-1");
        assert_eq!(out["principal"]["type"], "Role");
        assert_eq!(out["created_date"], "2023-11-14T22:13:20Z");
        assert_eq!(out["expires_date"], "2023-11-15T22:13:20Z");
        assert_eq!(out["budget_usd"], Value::Null);
        assert_eq!(out["models"], json!([]));
        assert!(out.get("new_field").is_none() && out.get("NewField").is_none());
    }

    #[test]
    fn a_malformed_answer_names_the_field_not_the_value() {
        let mut answer = json!({"Route": {"Name": "tgk_planted", "Arn": 5}});
        let err = member::<Route>(&mut answer, "Route")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("Route"), "{err}");
        assert!(!err.contains("tgk_planted"), "{err}");
        let mut answer = json!({"Route": "tgk_planted_value"});
        let err = member::<Route>(&mut answer, "Route")
            .err()
            .unwrap()
            .to_string();
        assert!(!err.contains("tgk_planted"), "{err}");
    }
}
