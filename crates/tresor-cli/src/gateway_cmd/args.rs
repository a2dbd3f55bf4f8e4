//! The `tresor gateway …` command line (issue 16's contract): what clap parses and checks
//! before any call is made. A bad flag value exits 2 with clap's message.

use std::path::PathBuf;

use crate::admin_api::{Format, GroupOptions};

#[derive(Debug, clap::Args)]
pub struct GatewayArgs {
    #[command(flatten)]
    pub options: GroupOptions,
    #[command(subcommand)]
    pub command: GatewayCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum GatewayCommand {
    /// Upstream providers: which secret holds the provider key, where to send calls.
    #[command(subcommand)]
    Route(RouteCommand),
    /// Gateway keys (tgk_…): bound to an IAM user or role, limited to routes, models, a budget.
    #[command(subcommand)]
    Key(KeyCommand),
    /// The price table (USD per million tokens) budgets are computed from.
    #[command(subcommand)]
    Price(PriceCommand),
    /// Budgets of users and roles: one cap over all the keys of one identity.
    #[command(subcommand)]
    Budget(BudgetCommand),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Provider {
    Openai,
    Anthropic,
}

impl Provider {
    pub fn wire(self) -> &'static str {
        match self {
            Self::Openai => "openai",
            Self::Anthropic => "anthropic",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BudgetPeriod {
    Day,
    Week,
    Month,
    Total,
}

impl BudgetPeriod {
    pub fn wire(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
            Self::Total => "total",
        }
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum RouteCommand {
    /// Create a route.
    Create(RouteCreateArgs),
    /// Change a route; only the options given change.
    Update(RouteUpdateArgs),
    /// Show a route.
    Get {
        name: String,
        #[command(flatten)]
        format: Format,
    },
    /// List the routes.
    List {
        #[command(flatten)]
        format: Format,
    },
    /// Delete a route.
    Delete {
        name: String,
        #[command(flatten)]
        format: Format,
    },
}

#[derive(Debug, clap::Args)]
pub struct RouteCreateArgs {
    /// The route's name: the path segment in /gateway/NAME/….
    pub name: String,
    #[arg(long, value_enum)]
    pub provider: Provider,
    /// The secret (name or ARN) whose AWSCURRENT value is the provider key.
    #[arg(long)]
    pub secret_id: String,
    /// Upstream base URL (default: the provider's public API).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Allow a plain-HTTP base URL that is not a loopback address.
    #[arg(long)]
    pub allow_http: bool,
    /// An extra CA certificate (PEM file) to trust for the upstream.
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    #[arg(long)]
    pub description: Option<String>,
    #[command(flatten)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
#[command(group(
    clap::ArgGroup::new("change")
        .required(true)
        .multiple(true)
        .args(["secret_id", "base_url", "allow_http", "ca_file", "description"]),
))]
pub struct RouteUpdateArgs {
    pub name: String,
    #[arg(long)]
    pub secret_id: Option<String>,
    #[arg(long)]
    pub base_url: Option<String>,
    /// `--allow-http` allows plain HTTP, `--allow-http=false` forbids it again.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub allow_http: Option<bool>,
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    #[arg(long)]
    pub description: Option<String>,
    #[command(flatten)]
    pub format: Format,
}

#[derive(Debug, clap::Subcommand)]
pub enum KeyCommand {
    /// Create a gateway key; it is printed once and cannot be shown again.
    Create(KeyCreateArgs),
    /// Show a key (never its secret).
    Get(KeyIdArgs),
    /// List keys, all or one user's or role's.
    List(KeyListArgs),
    /// Change a key's limits; only the options given change.
    Update(KeyUpdateArgs),
    /// Delete a key: the next call with it is refused.
    Delete(KeyIdArgs),
    /// Disable a key: the next call with it is refused until it is enabled.
    Disable(KeyIdArgs),
    /// Enable a disabled key.
    Enable(KeyIdArgs),
    /// A key's usage in its current budget period.
    Usage(KeyIdArgs),
}

#[derive(Debug, clap::Args)]
pub struct KeyIdArgs {
    pub key_id: String,
    #[command(flatten)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("principal").required(true).args(["user", "role"])))]
pub struct KeyCreateArgs {
    /// The IAM user the key acts as.
    #[arg(long)]
    pub user: Option<String>,
    /// The IAM role the key acts as.
    #[arg(long)]
    pub role: Option<String>,
    /// Routes the key may call, comma-separated.
    #[arg(long, required = true, value_delimiter = ',', value_parser = non_empty_item)]
    pub routes: Vec<String>,
    /// Models the key may use, comma-separated; `*` matches any suffix (default: all).
    #[arg(long, value_delimiter = ',', value_parser = non_empty_item)]
    pub models: Option<Vec<String>>,
    /// Spending limit per period, in USD.
    #[arg(long, value_parser = usd, allow_negative_numbers = true)]
    pub budget_usd: Option<f64>,
    /// The budget's period (the server's default: month).
    #[arg(long, value_enum)]
    pub budget_period: Option<BudgetPeriod>,
    /// Requests per minute.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub rpm: Option<u64>,
    /// Tokens per minute.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub tpm: Option<u64>,
    /// Lifetime: `90d`, `12h`, `30m`, `3600s` or plain seconds (default: no expiry).
    #[arg(long, value_parser = expires_in)]
    pub expires_in: Option<u64>,
    #[arg(long)]
    pub description: Option<String>,
    #[command(flatten)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct KeyListArgs {
    #[arg(long, conflicts_with = "role")]
    pub user: Option<String>,
    #[arg(long)]
    pub role: Option<String>,
    #[command(flatten)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
#[command(group(
    clap::ArgGroup::new("change")
        .required(true)
        .multiple(true)
        .args(["routes", "models", "budget_usd", "budget_period", "rpm", "tpm", "description"]),
))]
pub struct KeyUpdateArgs {
    pub key_id: String,
    #[arg(long, value_delimiter = ',', value_parser = non_empty_item)]
    pub routes: Option<Vec<String>>,
    #[arg(long, value_delimiter = ',', value_parser = non_empty_item)]
    pub models: Option<Vec<String>>,
    #[arg(long, value_parser = usd, allow_negative_numbers = true)]
    pub budget_usd: Option<f64>,
    #[arg(long, value_enum)]
    pub budget_period: Option<BudgetPeriod>,
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub rpm: Option<u64>,
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub tpm: Option<u64>,
    #[arg(long)]
    pub description: Option<String>,
    #[command(flatten)]
    pub format: Format,
}

#[derive(Debug, clap::Subcommand)]
pub enum PriceCommand {
    /// Set (override) a model's price, in USD per million tokens.
    Set(PriceSetArgs),
    /// List the prices in effect: shipped defaults and overrides.
    List {
        #[command(flatten)]
        format: Format,
    },
    /// Delete an override (the shipped default, if any, applies again).
    Delete {
        model: String,
        #[command(flatten)]
        format: Format,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum BudgetCommand {
    /// Set (or replace) the budget of a user or role, over every call of all its keys.
    Set(BudgetSetArgs),
    /// A user's or role's budget, with what it spent in the current period.
    Get(BudgetOwnerArgs),
    /// Every user and role budget of the account.
    List {
        #[command(flatten)]
        format: Format,
    },
    /// Remove a user's or role's budget (what it spent stays spent).
    Delete(BudgetOwnerArgs),
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("principal").required(true).args(["user", "role"])))]
pub struct BudgetOwnerArgs {
    /// The IAM user.
    #[arg(long)]
    pub user: Option<String>,
    /// The IAM role.
    #[arg(long)]
    pub role: Option<String>,
    #[command(flatten)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("principal").required(true).args(["user", "role"])))]
pub struct BudgetSetArgs {
    /// The IAM user.
    #[arg(long)]
    pub user: Option<String>,
    /// The IAM role.
    #[arg(long)]
    pub role: Option<String>,
    /// Spending limit per period, in USD.
    #[arg(long, required = true, value_parser = usd, allow_negative_numbers = true)]
    pub budget_usd: f64,
    /// The budget's period (the server's default: month).
    #[arg(long, value_enum)]
    pub budget_period: Option<BudgetPeriod>,
    #[command(flatten)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct PriceSetArgs {
    pub model: String,
    /// USD per million input tokens.
    #[arg(long, value_parser = usd, allow_negative_numbers = true)]
    pub input_usd: f64,
    /// USD per million output tokens.
    #[arg(long, value_parser = usd, allow_negative_numbers = true)]
    pub output_usd: f64,
    /// USD per million cached input tokens.
    #[arg(long, value_parser = usd, allow_negative_numbers = true)]
    pub cached_input_usd: Option<f64>,
    #[command(flatten)]
    pub format: Format,
}

impl GatewayCommand {
    /// The `--output` given after the command, if any.
    pub fn format(&self) -> Format {
        match self {
            Self::Route(c) => match c {
                RouteCommand::Create(a) => a.format,
                RouteCommand::Update(a) => a.format,
                RouteCommand::Get { format, .. }
                | RouteCommand::List { format }
                | RouteCommand::Delete { format, .. } => *format,
            },
            Self::Key(c) => match c {
                KeyCommand::Create(a) => a.format,
                KeyCommand::List(a) => a.format,
                KeyCommand::Update(a) => a.format,
                KeyCommand::Get(a)
                | KeyCommand::Delete(a)
                | KeyCommand::Disable(a)
                | KeyCommand::Enable(a)
                | KeyCommand::Usage(a) => a.format,
            },
            Self::Price(c) => match c {
                PriceCommand::Set(a) => a.format,
                PriceCommand::List { format } | PriceCommand::Delete { format, .. } => *format,
            },
            Self::Budget(c) => match c {
                BudgetCommand::Set(a) => a.format,
                BudgetCommand::Get(a) | BudgetCommand::Delete(a) => a.format,
                BudgetCommand::List { format } => *format,
            },
        }
    }
}

/// One name of a comma-separated list: `a,,b` is a typing error, not an empty name.
fn non_empty_item(text: &str) -> Result<String, String> {
    let item = text.trim();
    if item.is_empty() {
        return Err("an empty name in the list (write names separated by single commas)".into());
    }
    Ok(item.to_owned())
}

/// A USD amount: a finite number, zero or more.
fn usd(text: &str) -> Result<f64, String> {
    let amount: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not an amount in USD such as 50 or 0.15"))?;
    if !amount.is_finite() || amount < 0.0 {
        return Err(format!("{text:?} is not an amount in USD of zero or more"));
    }
    Ok(amount)
}

/// A lifetime in seconds, written `90d`, `12h`, `30m`, `3600s` or `3600`; at least a second.
pub fn expires_in(text: &str) -> Result<u64, String> {
    let bad = || format!("{text:?} is not a lifetime such as 90d, 12h, 30m, 3600s or 3600");
    let text = text.trim();
    let (number, unit_seconds) = match text.char_indices().last() {
        Some((at, 'd')) => (&text[..at], 86_400),
        Some((at, 'h')) => (&text[..at], 3_600),
        Some((at, 'm')) => (&text[..at], 60),
        Some((at, 's')) => (&text[..at], 1),
        _ => (text, 1),
    };
    // Why digits only: `parse::<u64>` would take a leading `+`, which no one means here.
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let seconds = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit_seconds))
        .ok_or_else(|| format!("{text:?} is too long a lifetime"))?;
    if seconds == 0 {
        return Err("a key's lifetime must be longer than zero".to_owned());
    }
    Ok(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_are_read_with_their_unit() {
        assert_eq!(expires_in("90d"), Ok(90 * 86_400));
        assert_eq!(expires_in("12h"), Ok(12 * 3_600));
        assert_eq!(expires_in("30m"), Ok(1_800));
        assert_eq!(expires_in("3600s"), Ok(3_600));
        assert_eq!(expires_in("3600"), Ok(3_600));
        for bad in [
            "",
            "d",
            "0",
            "0d",
            "1.5h",
            "-1d",
            "+5",
            "10w",
            "ten",
            "99999999999999999999d",
        ] {
            assert!(expires_in(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn amounts_are_finite_and_not_negative() {
        assert_eq!(usd("50"), Ok(50.0));
        assert_eq!(usd("0.15"), Ok(0.15));
        for bad in ["", "-1", "NaN", "inf", "$5"] {
            assert!(usd(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn list_items_must_not_be_empty() {
        assert_eq!(non_empty_item(" openai "), Ok("openai".to_owned()));
        assert!(non_empty_item("").is_err());
    }
}
