//! Model prices: turning tokens into micro-USD, for the reservation before a call
//! ([`estimate_micro`]) and the settlement after it ([`cost_micro`]).
//!
//! A [`PriceTable`] holds the shipped defaults and the account's overrides (exact model ids or
//! `prefix*` patterns). Lookup: exact id, then the most specific of the longest matching
//! pattern and the model's family (the id with its snapshot date, `-latest` or Anthropic's
//! `-0` alias suffix removed).
//! Defaults are exact ids only, never patterns, because a pattern such as `o3*` would price
//! `o3-pro` (ten times dearer) as `o3`: an unknown model must stay unknown rather than be
//! under-billed. All arithmetic is integer, in i128, rounded up once at the end.

use std::collections::BTreeMap;

use crate::wire::{CallShape, Usage};

/// A model's price in micro-USD (1e-6 USD) per million tokens: $2.50 per million is
/// `2_500_000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price {
    pub input_per_mtok_micro: i64,
    pub output_per_mtok_micro: i64,
    /// Cache reads; `None` bills them at the input price.
    pub cached_input_per_mtok_micro: Option<i64>,
}

/// A shipped price, from micro-USD per million tokens (input, cached input, output).
const fn micro(input: i64, cached: Option<i64>, output: i64) -> Price {
    Price {
        input_per_mtok_micro: input,
        output_per_mtok_micro: output,
        cached_input_per_mtok_micro: cached,
    }
}

/// The shipped prices, standard tier, as (input, cached input, output) micro-USD per million
/// tokens, i.e. the published dollars-per-million × 1 000 000.
///
/// OpenAI: the API pricing page (platform.openai.com/docs/pricing, now
/// developers.openai.com/api/docs/pricing) for these ids. Anthropic: "Model pricing" in the
/// Claude docs (docs.anthropic.com/en/docs/about-claude/pricing); cache reads are 0.1× input,
/// and cache writes are billed by [`cost_micro`] at 1.25× input (5-minute cache) or 2×
/// (1-hour). Not modelled: long-context surcharges (Sonnet 4/4.5 above 200k input tokens
/// with the 1M-context beta), batch and flex discounts, priority tier, server tools (web
/// search is billed per call); override the ids where these matter.
const DEFAULTS: &[(&str, Price)] = &[
    // OpenAI
    ("gpt-4o", micro(2_500_000, Some(1_250_000), 10_000_000)),
    // The first gpt-4o snapshot kept its launch price.
    ("gpt-4o-2024-05-13", micro(5_000_000, None, 15_000_000)),
    ("gpt-4o-mini", micro(150_000, Some(75_000), 600_000)),
    ("gpt-4.1", micro(2_000_000, Some(500_000), 8_000_000)),
    ("gpt-4.1-mini", micro(400_000, Some(100_000), 1_600_000)),
    ("gpt-4.1-nano", micro(100_000, Some(25_000), 400_000)),
    ("o3", micro(2_000_000, Some(500_000), 8_000_000)),
    ("o4-mini", micro(1_100_000, Some(275_000), 4_400_000)),
    ("gpt-5", micro(1_250_000, Some(125_000), 10_000_000)),
    ("gpt-5-mini", micro(250_000, Some(25_000), 2_000_000)),
    ("gpt-5-nano", micro(50_000, Some(5_000), 400_000)),
    ("gpt-5.1", micro(1_250_000, Some(125_000), 10_000_000)),
    ("gpt-5.2", micro(1_750_000, Some(175_000), 14_000_000)),
    ("text-embedding-3-small", micro(20_000, None, 0)),
    ("text-embedding-3-large", micro(130_000, None, 0)),
    ("text-embedding-ada-002", micro(100_000, None, 0)),
    // Anthropic (Opus 4.5 and later cost a third of Opus 4 / 4.1)
    (
        "claude-opus-4-7",
        micro(5_000_000, Some(500_000), 25_000_000),
    ),
    (
        "claude-opus-4-6",
        micro(5_000_000, Some(500_000), 25_000_000),
    ),
    (
        "claude-opus-4-5",
        micro(5_000_000, Some(500_000), 25_000_000),
    ),
    (
        "claude-opus-4-1",
        micro(15_000_000, Some(1_500_000), 75_000_000),
    ),
    (
        "claude-opus-4",
        micro(15_000_000, Some(1_500_000), 75_000_000),
    ),
    (
        "claude-sonnet-4-6",
        micro(3_000_000, Some(300_000), 15_000_000),
    ),
    (
        "claude-sonnet-4-5",
        micro(3_000_000, Some(300_000), 15_000_000),
    ),
    (
        "claude-sonnet-4",
        micro(3_000_000, Some(300_000), 15_000_000),
    ),
    (
        "claude-haiku-4-5",
        micro(1_000_000, Some(100_000), 5_000_000),
    ),
    (
        "claude-3-7-sonnet",
        micro(3_000_000, Some(300_000), 15_000_000),
    ),
    (
        "claude-3-5-sonnet",
        micro(3_000_000, Some(300_000), 15_000_000),
    ),
    ("claude-3-5-haiku", micro(800_000, Some(80_000), 4_000_000)),
    (
        "claude-3-opus",
        micro(15_000_000, Some(1_500_000), 75_000_000),
    ),
    ("claude-3-haiku", micro(250_000, Some(30_000), 1_250_000)),
];

/// Prices by model: the shipped defaults, then the account's overrides on top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceTable {
    defaults: BTreeMap<String, Price>,
    overrides: BTreeMap<String, Price>,
}

impl PriceTable {
    /// The shipped prices for common OpenAI and Anthropic models.
    pub fn defaults() -> Self {
        PriceTable {
            defaults: DEFAULTS
                .iter()
                .map(|(model, price)| ((*model).to_owned(), *price))
                .collect(),
            overrides: BTreeMap::new(),
        }
    }

    /// Adds overrides (exact ids or `prefix*` patterns); a later one for the same key wins.
    pub fn with_overrides(mut self, overrides: impl IntoIterator<Item = (String, Price)>) -> Self {
        self.overrides.extend(overrides);
        self
    }

    /// The price of `model`: an exact entry first; otherwise the most specific of the
    /// matching `prefix*` patterns and the family entry of a dated id (`gpt-4o` for
    /// `gpt-4o-2024-08-06`, counted as a prefix of its own length, so a catch-all `*` does not
    /// beat it but `gpt-4o-2024*` does). At equal length an override wins over a default, then
    /// the family entry over a pattern. `None`: unknown model.
    pub fn price(&self, model: &str) -> Option<Price> {
        if let Some(price) = self.overrides.get(model).or(self.defaults.get(model)) {
            return Some(*price);
        }
        let layers = [(&self.overrides, true), (&self.defaults, false)];
        let patterns = layers.iter().flat_map(|(entries, is_override)| {
            entries
                .iter()
                .filter(|(pattern, _)| pattern.ends_with('*') && model_matches(pattern, model))
                .map(move |(pattern, price)| ((pattern.len() - 1, *is_override, false), *price))
        });
        let family = family_of(model).into_iter().flat_map(|family| {
            layers.iter().filter_map(move |(entries, is_override)| {
                entries
                    .get(family)
                    .map(|price| ((family.len(), *is_override, true), *price))
            })
        });
        patterns
            .chain(family)
            .max_by_key(|(specificity, _)| *specificity)
            .map(|(_, price)| price)
    }

    /// Every entry, sorted by model: overrides (`true`) replace defaults of the same key.
    pub fn entries(&self) -> Vec<(String, Price, bool)> {
        let mut all: BTreeMap<&String, (Price, bool)> = self
            .defaults
            .iter()
            .map(|(model, price)| (model, (*price, false)))
            .collect();
        for (model, price) in &self.overrides {
            all.insert(model, (*price, true));
        }
        all.into_iter()
            .map(|(model, (price, is_override))| (model.clone(), price, is_override))
            .collect()
    }
}

/// The family id of a dated or aliased model id: `gpt-4o-2024-08-06` → `gpt-4o`,
/// `claude-sonnet-4-20250514` → `claude-sonnet-4`, `claude-3-5-sonnet-latest` →
/// `claude-3-5-sonnet`, `claude-opus-4-0` → `claude-opus-4`. `None` when there is no suffix
/// to remove.
fn family_of(model: &str) -> Option<&str> {
    let is_digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(base) = model.strip_suffix("-latest") {
        return Some(base);
    }
    if let Some((base, date)) = model.rsplit_once('-') {
        // Anthropic: -YYYYMMDD.
        if is_digits(date, 8) {
            return Some(base);
        }
        // Anthropic's `-0` alias of a major version (claude-sonnet-4-0).
        if date == "0" {
            return Some(base);
        }
    }
    // OpenAI: -YYYY-MM-DD.
    let bytes = model.len();
    if bytes > 11 {
        let (base, date) = model.split_at(bytes - 11);
        let parts: Vec<&str> = date.split('-').collect();
        if let ["", year, month, day] = parts.as_slice() {
            if is_digits(year, 4) && is_digits(month, 2) && is_digits(day, 2) {
                return Some(base);
            }
        }
    }
    None
}

/// Whether `model` matches an allowlist or price `pattern`: exactly, or by prefix when the
/// pattern ends with `*` (`*` alone matches every model).
pub fn model_matches(pattern: &str, model: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => model.starts_with(prefix),
        None => pattern == model,
    }
}

const TOKENS_PER_MTOK: i128 = 1_000_000;

/// Cache writes cost more than plain input: 1.25× for the 5-minute cache, 2× for the 1-hour
/// one (Anthropic). Expressed in quarters so the sum stays integral.
const QUARTERS_PLAIN: i128 = 4;
const QUARTERS_CACHE_WRITE_5M: i128 = 5;
const QUARTERS_CACHE_WRITE_1H: i128 = 8;

fn non_negative(price: i64) -> i128 {
    i128::from(price.max(0))
}

/// `ceil(numerator / denominator)` for a non-negative numerator, clamped into i64.
fn ceil_div_to_i64(numerator: i128, denominator: i128) -> i64 {
    let quotient = numerator.max(0).div_euclid(denominator)
        + i128::from(numerator.max(0).rem_euclid(denominator) != 0);
    i64::try_from(quotient).unwrap_or(i64::MAX)
}

/// What a call cost in micro-USD, rounded UP (never under-bill): uncached input at the input
/// price, cache reads at the cached price (or the input price if none), cache writes at 1.25×
/// (2× for the one-hour cache) the input price, output at the output price.
pub fn cost_micro(price: &Price, usage: &Usage) -> i64 {
    let input_price = non_negative(price.input_per_mtok_micro);
    let cached_price = price
        .cached_input_per_mtok_micro
        .map_or(input_price, non_negative);
    let output_price = non_negative(price.output_per_mtok_micro);

    let total_input = i128::from(usage.input_tokens);
    let cached = i128::from(usage.cached_input_tokens);
    let written = i128::from(usage.cache_creation_tokens);
    let written_1h = i128::from(usage.cache_creation_1h_tokens).min(written);
    let written_5m = written - written_1h;
    // INVARIANT: never negative, whatever the provider reported.
    let plain_input = (total_input - cached - written).max(0);

    let quarters = [
        (plain_input, input_price, QUARTERS_PLAIN),
        (written_5m, input_price, QUARTERS_CACHE_WRITE_5M),
        (written_1h, input_price, QUARTERS_CACHE_WRITE_1H),
        (cached, cached_price, QUARTERS_PLAIN),
        (
            i128::from(usage.output_tokens),
            output_price,
            QUARTERS_PLAIN,
        ),
    ]
    .iter()
    .fold(0_i128, |sum, (tokens, price, quarters)| {
        sum.saturating_add(tokens.saturating_mul(*price).saturating_mul(*quarters))
    });
    ceil_div_to_i64(quarters, TOKENS_PER_MTOK * QUARTERS_PLAIN)
}

/// The amount to reserve before a call, in micro-USD, rounded up: the input estimate at the
/// input price plus the output cap (`default_max_output` when the request sets none) × `n` at
/// the output price.
pub fn estimate_micro(price: &Price, shape: &CallShape, default_max_output: u64) -> i64 {
    let input = i128::from(shape.input_estimate_tokens)
        .saturating_mul(non_negative(price.input_per_mtok_micro));
    let max_output = shape.max_output_tokens.unwrap_or(default_max_output);
    let output = i128::from(max_output)
        .saturating_mul(i128::from(shape.n.max(1)))
        .saturating_mul(non_negative(price.output_per_mtok_micro));
    ceil_div_to_i64(input.saturating_add(output), TOKENS_PER_MTOK)
}

#[cfg(test)]
#[path = "prices_tests.rs"]
mod tests;
