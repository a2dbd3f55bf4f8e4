//! Prices: lookup order, dated ids, rounding up.

#![allow(clippy::unwrap_used, clippy::panic)]

use super::*;

fn p(input: i64, cached: Option<i64>, output: i64) -> Price {
    Price {
        input_per_mtok_micro: input,
        output_per_mtok_micro: output,
        cached_input_per_mtok_micro: cached,
    }
}

fn shape(input: u64, max_output: Option<u64>, n: u64) -> CallShape {
    CallShape {
        model: Some("m".into()),
        stream: false,
        max_output_tokens: max_output,
        n,
        input_estimate_tokens: input,
        include_usage_requested: false,
    }
}

#[test]
fn defaults_cover_the_common_models() {
    let t = PriceTable::defaults();
    for model in [
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-4.1-nano",
        "o3",
        "o4-mini",
        "gpt-5",
        "gpt-5-mini",
        "gpt-5-nano",
        "text-embedding-3-small",
        "text-embedding-3-large",
        "claude-opus-4-5",
        "claude-opus-4-1",
        "claude-sonnet-4-5",
        "claude-haiku-4-5",
        "claude-3-7-sonnet-latest",
        "claude-3-5-haiku-latest",
    ] {
        let price = t
            .price(model)
            .unwrap_or_else(|| panic!("{model} has no price"));
        assert!(price.input_per_mtok_micro > 0, "{model}");
    }
    let mini = t.price("gpt-4o-mini").unwrap();
    assert_eq!(mini, p(150_000, Some(75_000), 600_000));
    let sonnet = t.price("claude-sonnet-4-5").unwrap();
    assert_eq!(sonnet, p(3_000_000, Some(300_000), 15_000_000));
}

#[test]
fn dated_ids_match_their_family() {
    let t = PriceTable::defaults();
    for (dated, family) in [
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-2024-11-20", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4.1-2025-04-14", "gpt-4.1"),
        ("gpt-4.1-nano-2025-04-14", "gpt-4.1-nano"),
        ("o3-2025-04-16", "o3"),
        ("o4-mini-2025-04-16", "o4-mini"),
        ("gpt-5-mini-2025-08-07", "gpt-5-mini"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("claude-sonnet-4-0", "claude-sonnet-4"),
        ("claude-opus-4-0", "claude-opus-4"),
        ("claude-opus-4-1-20250805", "claude-opus-4-1"),
        ("claude-opus-4-5-20251101", "claude-opus-4-5"),
        ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
        ("claude-3-7-sonnet-20250219", "claude-3-7-sonnet"),
        ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("claude-3-opus-20240229", "claude-3-opus"),
        ("claude-3-haiku-20240307", "claude-3-haiku"),
    ] {
        assert_eq!(t.price(dated), t.price(family), "{dated}");
        assert!(t.price(dated).is_some(), "{dated}");
    }
    // A snapshot with its own (higher) price is not priced as its family.
    assert_eq!(
        t.price("gpt-4o-2024-05-13").unwrap().input_per_mtok_micro,
        5_000_000
    );
    // Opus 4.5 is not Opus 4: the families are told apart.
    assert_ne!(t.price("claude-opus-4-5"), t.price("claude-opus-4"));
}

#[test]
fn unknown_and_pricier_variants_stay_unknown() {
    let t = PriceTable::defaults();
    for model in [
        "o3-pro",
        "gpt-5-pro",
        "gpt-4o-audio-preview",
        "gpt-4o-mini-tts",
        "my-local-llama",
        "",
        "gpt-4o-2024-13",
        "claude-sonnet-4-2025051",
        "GPT-4O",
    ] {
        assert_eq!(t.price(model), None, "{model}");
    }
}

#[test]
fn overrides_win_and_patterns_take_the_longest_prefix() {
    let t = PriceTable::defaults().with_overrides([
        ("gpt-4o".to_owned(), p(1, None, 2)),
        ("gpt-4.1*".to_owned(), p(10, None, 20)),
        ("gpt-4.1-mini*".to_owned(), p(30, None, 40)),
        ("mistral-*".to_owned(), p(50, None, 60)),
        ("*".to_owned(), p(99, None, 99)),
    ]);
    // Exact override over the default, and through the family rule.
    assert_eq!(t.price("gpt-4o"), Some(p(1, None, 2)));
    assert_eq!(t.price("gpt-4o-2024-08-06"), Some(p(1, None, 2)));
    // An exact default beats a pattern override.
    assert_eq!(t.price("gpt-4.1").unwrap().input_per_mtok_micro, 2_000_000);
    // Longest matching pattern.
    assert_eq!(t.price("gpt-4.1-mini-2025-04-14"), Some(p(30, None, 40)));
    assert_eq!(t.price("gpt-4.1-experimental"), Some(p(10, None, 20)));
    assert_eq!(t.price("mistral-large-latest"), Some(p(50, None, 60)));
    // The catch-all only where nothing longer matches.
    assert_eq!(t.price("unknown-model"), Some(p(99, None, 99)));
}

#[test]
fn later_overrides_replace_earlier_and_entries_mark_them() {
    let t = PriceTable::defaults()
        .with_overrides([("gpt-4o".to_owned(), p(1, None, 1))])
        .with_overrides([
            ("gpt-4o".to_owned(), p(2, None, 2)),
            ("local-*".to_owned(), p(0, None, 0)),
        ]);
    assert_eq!(t.price("gpt-4o"), Some(p(2, None, 2)));
    let entries = t.entries();
    assert_eq!(entries.len(), DEFAULTS.len() + 1);
    let gpt4o = entries.iter().find(|(m, _, _)| m == "gpt-4o").unwrap();
    assert_eq!((gpt4o.1, gpt4o.2), (p(2, None, 2), true));
    let mini = entries.iter().find(|(m, _, _)| m == "gpt-4o-mini").unwrap();
    assert!(!mini.2);
    assert!(entries.iter().any(|(m, _, o)| m == "local-*" && *o));
    let names: Vec<&String> = entries.iter().map(|(m, _, _)| m).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}

#[test]
fn model_patterns() {
    assert!(model_matches("gpt-4o-mini", "gpt-4o-mini"));
    assert!(!model_matches("gpt-4o-mini", "gpt-4o-mini-2024-07-18"));
    assert!(model_matches("gpt-4.1*", "gpt-4.1"));
    assert!(model_matches("gpt-4.1*", "gpt-4.1-nano"));
    assert!(!model_matches("gpt-4.1*", "gpt-4o"));
    assert!(model_matches("*", "anything"));
    assert!(model_matches("*", ""));
    assert!(!model_matches("gpt-4o", "gpt-4o "));
    assert!(!model_matches("", "gpt-4o"));
    // `*` is special only at the end.
    assert!(!model_matches("gpt-*-mini", "gpt-4o-mini"));
    assert!(model_matches("gpt-*-mini", "gpt-*-mini"));
}

#[test]
fn cost_rounds_up_never_down() {
    let price = p(150_000, Some(75_000), 600_000); // gpt-4o-mini
                                                   // One input token costs 0.15 micro-USD: billed as 1.
    let one = Usage {
        input_tokens: 1,
        ..Usage::default()
    };
    assert_eq!(cost_micro(&price, &one), 1);
    assert_eq!(cost_micro(&price, &Usage::default()), 0);
    // 1000 in, 500 out: 150 + 300 = 450 exactly.
    let u = Usage {
        input_tokens: 1000,
        output_tokens: 500,
        ..Usage::default()
    };
    assert_eq!(cost_micro(&price, &u), 450);
    // 1001 in: 150.15 + 300 → 451.
    let u = Usage {
        input_tokens: 1001,
        output_tokens: 500,
        ..Usage::default()
    };
    assert_eq!(cost_micro(&price, &u), 451);
}

#[test]
fn cached_input_at_the_cached_price_or_the_input_price() {
    let u = Usage {
        input_tokens: 1_000_000,
        cached_input_tokens: 400_000,
        output_tokens: 0,
        ..Usage::default()
    };
    // 600k × $2.50 + 400k × $1.25 = $1.50 + $0.50.
    let price = p(2_500_000, Some(1_250_000), 10_000_000);
    assert_eq!(cost_micro(&price, &u), 2_000_000);
    let no_cache_price = p(2_500_000, None, 10_000_000);
    assert_eq!(cost_micro(&no_cache_price, &u), 2_500_000);
}

#[test]
fn anthropic_cache_writes_cost_more_than_plain_input() {
    let sonnet = p(3_000_000, Some(300_000), 15_000_000);
    // 100 plain + 1000 written (600 at 5m, 400 at 1h) + 2000 read; 50 out.
    let u = Usage {
        input_tokens: 3100,
        output_tokens: 50,
        cached_input_tokens: 2000,
        cache_creation_tokens: 1000,
        cache_creation_1h_tokens: 400,
    };
    // plain 100×3 = 300; 5m 600×3.75 = 2250; 1h 400×6 = 2400; read 2000×0.3 = 600;
    // out 50×15 = 750 → 6300.
    assert_eq!(cost_micro(&sonnet, &u), 6300);
}

#[test]
fn nonsense_usage_and_prices_never_go_negative_or_overflow() {
    let price = p(-5, Some(-1), i64::MAX);
    let u = Usage {
        input_tokens: 1,
        cached_input_tokens: 5,
        cache_creation_tokens: 9,
        cache_creation_1h_tokens: 99,
        output_tokens: u64::MAX,
    };
    assert_eq!(cost_micro(&price, &u), i64::MAX);
    let u = Usage {
        input_tokens: 0,
        cached_input_tokens: 10,
        ..Usage::default()
    };
    assert_eq!(cost_micro(&p(1_000_000, None, 0), &u), 10);
    assert_eq!(cost_micro(&p(-1_000_000, None, -1), &u), 0);
}

#[test]
fn estimate_is_input_plus_capped_output_times_n() {
    let price = p(2_500_000, Some(1_250_000), 10_000_000); // gpt-4o
                                                           // 1000 × 2.5 + 200 × 2 × 10 = 2500 + 4000.
    assert_eq!(
        estimate_micro(&price, &shape(1000, Some(200), 2), 4096),
        6500
    );
    // No cap in the request: the default cap.
    assert_eq!(
        estimate_micro(&price, &shape(1000, None, 1), 4096),
        2500 + 40_960
    );
    // Rounded up.
    assert_eq!(estimate_micro(&p(1, None, 1), &shape(1, Some(1), 1), 0), 1);
    // Huge figures saturate instead of wrapping.
    assert_eq!(
        estimate_micro(&price, &shape(u64::MAX, Some(u64::MAX), u64::MAX), 0),
        i64::MAX
    );
}

#[test]
fn a_catch_all_does_not_beat_a_dated_ids_family_but_a_longer_pattern_does() {
    let t = PriceTable::defaults().with_overrides([("*".to_owned(), p(99, None, 99))]);
    assert_eq!(t.price("gpt-4o-2024-08-06"), t.price("gpt-4o"));
    assert_eq!(
        t.price("claude-sonnet-4-20250514"),
        t.price("claude-sonnet-4")
    );
    let t = t.with_overrides([("gpt-4o-2024*".to_owned(), p(7, None, 7))]);
    assert_eq!(t.price("gpt-4o-2024-08-06"), Some(p(7, None, 7)));
    // A default family against an override pattern of the same length: the override.
    let t = PriceTable::defaults().with_overrides([("gpt-4o*".to_owned(), p(8, None, 8))]);
    assert_eq!(t.price("gpt-4o-2024-08-06"), Some(p(8, None, 8)));
    // The exact default still wins over any pattern.
    assert_eq!(t.price("gpt-4o").unwrap().input_per_mtok_micro, 2_500_000);
}
