//! The gateway admin API's canned answers (`TresorGateway.*`), for `tests/gateway_cli.rs`.

use serde_json::{json, Value};

/// The gateway key the fake `CreateKey` returns; the CLI may print it only there.
pub const PLANTED_KEY: &str = "tgk_planted_5d1c8e0b9a7f4e2d";

const DATE: f64 = 1_700_000_000.25;

pub fn route(name: &str) -> Value {
    json!({
        "Name": name, "Arn": format!("arn:aws:gateway:us-east-1:000000000000:route/{name}"),
        "Provider": "openai", "SecretId": "ai/openai/prod",
        "BaseUrl": "https://api.openai.com/v1", "AllowHttp": false, "HasCaCertificate": false,
        "CreatedDate": DATE, "LastChangedDate": DATE + 60.0
    })
}

pub fn gateway_key(id: &str, status: &str) -> Value {
    json!({
        "KeyId": id,
        "Principal": {"Type": "User", "Name": "chat-service",
                      "Arn": "arn:aws:iam::000000000000:user/chat-service"},
        "Routes": ["openai"], "Models": ["gpt-4o-mini", "gpt-4.1*"],
        "BudgetUsd": 50.0, "BudgetPeriod": "month", "Rpm": 600, "Tpm": 200000,
        "ExpiresDate": DATE + 90.0 * 86400.0, "Status": status, "CreatedDate": DATE
    })
}

/// The canned answer to `target`: shaped as the admin API contract says, echoing the
/// request's identifiers; `missing` names a resource that does not exist.
pub fn answer(target: &str, body: &Value) -> (u16, Value) {
    let name = body["Name"].as_str().unwrap_or("");
    let key_id = body["KeyId"].as_str().unwrap_or("");
    if name == "missing" || key_id == "gk-missing" {
        let what = if name.is_empty() { key_id } else { name };
        return (
            404,
            json!({"__type": "ResourceNotFoundException", "Message": format!("{what} does not exist")}),
        );
    }
    let operation = target.strip_prefix("TresorGateway.").unwrap_or("");
    let ok = match operation {
        "CreateRoute" | "UpdateRoute" | "GetRoute" => json!({ "Route": route(name) }),
        "ListRoutes" => json!({ "Routes": [route("openai"), route("vllm")] }),
        "DeleteRoute" | "DeleteKey" | "DeletePrice" => json!({}),
        "CreateKey" => json!({
            "Key": PLANTED_KEY, "KeyId": "gk-0001", "GatewayKey": gateway_key("gk-0001", "Active")
        }),
        "GetKey" => json!({ "GatewayKey": gateway_key(key_id, "Active") }),
        "UpdateKey" => json!({
            "GatewayKey": gateway_key(key_id, body["Status"].as_str().unwrap_or("Active"))
        }),
        "ListKeys" => json!({ "GatewayKeys": [gateway_key("gk-0001", "Active"),
                                              gateway_key("gk-0002", "Inactive")] }),
        "GetKeyUsage" => json!({
            "KeyId": key_id, "BudgetPeriod": "month", "PeriodStart": 1_698_796_800.0,
            "Requests": 42, "InputTokens": 1200, "OutputTokens": 3400,
            "SpentUsd": 0.0123, "HeldUsd": 0.5, "BudgetUsd": 50.0
        }),
        "PutPrice" => json!({ "Price": {
            "Model": body["Model"], "InputPerMillionUsd": body["InputPerMillionUsd"],
            "OutputPerMillionUsd": body["OutputPerMillionUsd"],
            "CachedInputPerMillionUsd": body.get("CachedInputPerMillionUsd")
        }}),
        "ListPrices" => json!({ "Prices": [
            {"Model": "gpt-4o-mini", "InputPerMillionUsd": 0.15, "OutputPerMillionUsd": 0.6,
             "CachedInputPerMillionUsd": 0.075, "Source": "default"},
            {"Model": "my-model", "InputPerMillionUsd": 1.0, "OutputPerMillionUsd": 2.0,
             "Source": "override"}
        ]}),
        _ => {
            return (
                400,
                json!({"__type": "UnknownOperationException", "Message": "unknown operation"}),
            )
        }
    };
    (200, ok)
}
