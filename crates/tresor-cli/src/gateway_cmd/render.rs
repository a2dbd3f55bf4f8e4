//! Text output of `tresor gateway …`: `name: value` lines for one record, an aligned table
//! for a list. (`--output json` prints the shapes of `shapes.rs` instead.)

use super::shapes::{Budget, GatewayKey, KeyUsage, Price, Route};
use crate::admin_api::answer::date_text;
use crate::admin_api::text::{fields, or_dash, table};

/// USD with at least two decimals and up to six (a request can cost a fraction of a cent).
pub fn usd(amount: f64) -> String {
    let text = format!("{amount:.6}");
    let trimmed = text.trim_end_matches('0');
    let decimals = trimmed.split_once('.').map_or(0, |(_, d)| d.len());
    if decimals < 2 {
        format!("{amount:.2}")
    } else {
        trimmed.to_owned()
    }
}

pub fn route(r: &Route) -> String {
    fields(&[
        ("name", r.name.clone()),
        ("arn", r.arn.clone()),
        ("provider", r.provider.clone()),
        ("secret_id", r.secret_id.clone()),
        ("base_url", or_dash(r.base_url.clone())),
        ("allow_http", r.allow_http.to_string()),
        ("ca_certificate", yes_no(r.has_ca_certificate)),
        ("description", or_dash(r.description.clone())),
        ("created", date_text(r.created_date)),
        ("last_changed", date_text(r.last_changed_date)),
    ])
}

pub fn routes(list: &[Route]) -> String {
    if list.is_empty() {
        return "No routes.\n".to_owned();
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.provider.clone(),
                r.secret_id.clone(),
                or_dash(r.base_url.clone()),
            ]
        })
        .collect();
    table(&["NAME", "PROVIDER", "SECRET_ID", "BASE_URL"], &rows)
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

fn list_or_all(items: &[String]) -> String {
    if items.is_empty() {
        "(all)".to_owned()
    } else {
        items.join(",")
    }
}

pub fn key(k: &GatewayKey) -> String {
    fields(&[
        ("key_id", k.key_id.clone()),
        (
            "principal",
            format!("{} {}", k.principal.kind, k.principal.name),
        ),
        ("principal_arn", k.principal.arn.clone()),
        ("status", k.status.clone()),
        ("routes", k.routes.join(",")),
        ("models", list_or_all(&k.models)),
        ("budget", budget(k.budget_usd, &k.budget_period)),
        ("rpm", or_dash(k.rpm.map(|n| n.to_string()))),
        ("tpm", or_dash(k.tpm.map(|n| n.to_string()))),
        (
            "expires",
            k.expires_date.map_or_else(|| "never".to_owned(), date_text),
        ),
        ("description", or_dash(k.description.clone())),
        ("created", date_text(k.created_date)),
    ])
}

fn budget(amount: Option<f64>, period: &str) -> String {
    match amount {
        Some(a) => format!("{} USD per {period}", usd(a)),
        None => "none".to_owned(),
    }
}

pub fn keys(list: &[GatewayKey]) -> String {
    if list.is_empty() {
        return "No gateway keys.\n".to_owned();
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|k| {
            vec![
                k.key_id.clone(),
                format!("{} {}", k.principal.kind, k.principal.name),
                k.status.clone(),
                k.routes.join(","),
                budget(k.budget_usd, &k.budget_period),
                k.expires_date.map_or_else(|| "never".to_owned(), date_text),
            ]
        })
        .collect();
    table(
        &[
            "KEY_ID",
            "PRINCIPAL",
            "STATUS",
            "ROUTES",
            "BUDGET",
            "EXPIRES",
        ],
        &rows,
    )
}

/// `key create`'s text: the key once, with the warning, then the key's record.
pub fn created_key(secret: &str, k: &GatewayKey) -> String {
    format!(
        "Gateway key (shown only this once: it cannot be retrieved later, store it now):\n\n    {secret}\n\n{}",
        key(k)
    )
}

pub fn usage(u: &KeyUsage) -> String {
    fields(&[
        ("key_id", u.key_id.clone()),
        (
            "period",
            format!("{} (since {})", u.budget_period, date_text(u.period_start)),
        ),
        ("requests", u.requests.to_string()),
        ("input_tokens", u.input_tokens.to_string()),
        ("output_tokens", u.output_tokens.to_string()),
        ("spent_usd", usd(u.spent_usd)),
        ("held_usd", usd(u.held_usd)),
        ("budget_usd", or_dash(u.budget_usd.map(usd))),
    ])
}

pub fn price(p: &Price) -> String {
    fields(&[
        ("model", p.model.clone()),
        ("input_per_mtok_usd", usd(p.input_per_million_usd)),
        ("output_per_mtok_usd", usd(p.output_per_million_usd)),
        (
            "cached_input_per_mtok_usd",
            or_dash(p.cached_input_per_million_usd.map(usd)),
        ),
    ])
}

pub fn prices(list: &[Price]) -> String {
    if list.is_empty() {
        return "No prices.\n".to_owned();
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|p| {
            vec![
                p.model.clone(),
                usd(p.input_per_million_usd),
                usd(p.output_per_million_usd),
                or_dash(p.cached_input_per_million_usd.map(usd)),
                or_dash(p.source.clone()),
            ]
        })
        .collect();
    table(
        &[
            "MODEL",
            "INPUT/MTOK",
            "OUTPUT/MTOK",
            "CACHED/MTOK",
            "SOURCE",
        ],
        &rows,
    )
}

pub fn principal_budget(b: &Budget) -> String {
    fields(&[
        ("principal", b.principal.arn.clone()),
        ("budget_usd", usd(b.budget_usd)),
        (
            "period",
            format!("{} (since {})", b.budget_period, date_text(b.period_start)),
        ),
        ("requests", b.requests.to_string()),
        ("input_tokens", b.input_tokens.to_string()),
        ("output_tokens", b.output_tokens.to_string()),
        ("spent_usd", usd(b.spent_usd)),
        ("held_usd", usd(b.held_usd)),
    ])
}

pub fn principal_budgets(list: &[Budget]) -> String {
    if list.is_empty() {
        return "No budgets.\n".to_owned();
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|b| {
            vec![
                b.principal.arn.clone(),
                usd(b.budget_usd),
                b.budget_period.clone(),
                usd(b.spent_usd),
                usd(b.held_usd),
            ]
        })
        .collect();
    table(&["PRINCIPAL", "BUDGET", "PERIOD", "SPENT", "HELD"], &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_keep_cents_and_fractions_of_cents() {
        assert_eq!(usd(50.0), "50.00");
        assert_eq!(usd(0.15), "0.15");
        assert_eq!(usd(2.5), "2.50");
        assert_eq!(usd(0.000123), "0.000123");
    }
}
