//! The `Filters` of `ListSecrets` and `BatchGetSecretValue`, matched as AWS matches them.
//!
//! - `name`: the value's space-separated words must each be a prefix of the name;
//!   case-sensitive (`Data` finds `DatabaseSecret`, not `databaseSecret` or `MyData`).
//! - `tag-key`, `tag-value`: the value is a prefix of a key (value); case-sensitive.
//! - `description`: every space-separated word of the value starts a word of the
//!   description; case ignored (`My Description` finds "Description of my secret", `a` finds
//!   "an secret" but `secret` does not find "asecret").
//! - `all`: every word of the value starts a word of the secret's name, description, tag keys
//!   or tag values; case ignored.
//! - `primary-region`: the value is a prefix of the primary's region, on a replicated secret
//!   (primary or replica); a secret without replicas has none.
//! - `owning-service`: Tresor has no managed secrets, so nothing has one.
//!
//! For `all`, names (and the value) break into words at anything but a letter or digit, where
//! lower case turns to upper (`AppBeta`), before the last capital of a run that goes on in
//! lower case (`COMPANYthings` is `COMPAN` + `Ythings`), and where a letter turns to a digit
//! (`One3fa` is `One` + `3fa`). So `Beta` finds `prod/AppBeta/x` and `t` finds `SecretTwo`,
//! but `ret` finds neither `Secret` nor `Thirdsecret`, and `company` does not find
//! `COMPANYthings`. A description or tag is searched by its space-separated words and by
//! those pieces of them. These are the rules AWS's answers show (the API and user-guide
//! pages, and the expectations peer emulators recorded from AWS).
//!
//! A value starting with `!` negates: the secret must not match it. Within a filter a secret
//! must match one of the plain values (if there are any) and none of the negated ones; all
//! filters must hold.

use tresor_store::SecretRecord;

use super::dto::Filter;
use crate::validate::Validator;
use crate::CoreError;

const FILTER_KEYS: [&str; 7] = [
    "description",
    "name",
    "tag-key",
    "tag-value",
    "primary-region",
    "owning-service",
    "all",
];

/// One validated filter: values that must match (any of) and values that must not.
pub(crate) struct FilterSpec {
    key: String,
    include: Vec<String>,
    exclude: Vec<String>,
}

pub(crate) fn validate_filters(v: &mut Validator, filters: Option<&[Filter]>) {
    v.count(filters, "filters", 0, 10);
    for (i, f) in filters.unwrap_or_default().iter().enumerate() {
        let at = format!("filters.{}.member", i + 1);
        v.one_of(f.key.as_deref(), &format!("{at}.key"), &FILTER_KEYS);
        v.count(f.values.as_deref(), &format!("{at}.values"), 1, 10);
        for (j, value) in f.values.as_deref().unwrap_or_default().iter().enumerate() {
            let vat = format!("{at}.values.{}.member", j + 1);
            v.length(Some(value), &vat, 0, 512);
            v.chars(
                Some(value),
                &vat,
                "^\\!?[a-zA-Z0-9 :_@\\/\\+\\=\\.\\-\\!]*$",
                |c| c.is_ascii_alphanumeric() || " :_@/+=.-!".contains(c),
            );
        }
    }
}

pub(crate) fn filter_specs(filters: &[Filter]) -> Result<Vec<FilterSpec>, CoreError> {
    filters
        .iter()
        .map(|f| {
            let key = f.key.clone().ok_or_else(|| {
                CoreError::InvalidParameter("Each filter needs a Key.".to_owned())
            })?;
            let values = f.values.clone().ok_or_else(|| {
                CoreError::InvalidParameter("Each filter needs Values.".to_owned())
            })?;
            let (exclude, include): (Vec<_>, Vec<_>) =
                values.into_iter().partition(|v| v.starts_with('!'));
            Ok(FilterSpec {
                key,
                include,
                exclude: exclude.into_iter().map(|v| v[1..].to_owned()).collect(),
            })
        })
        .collect()
}

/// Does the secret satisfy this filter?
pub(crate) fn matches(spec: &FilterSpec, r: &SecretRecord) -> bool {
    let hit = |value: &String| value_matches(&spec.key, r, value);
    let included = spec.include.is_empty() || spec.include.iter().any(hit);
    let excluded = spec.exclude.iter().any(hit);
    included && !excluded
}

/// Does one (plain) filter value match the secret under `key`?
fn value_matches(key: &str, r: &SecretRecord, value: &str) -> bool {
    match key {
        "name" => value.split(' ').all(|word| r.name.starts_with(word)),
        "tag-key" => r.tags.iter().any(|t| t.key.starts_with(value)),
        "tag-value" => r.tags.iter().any(|t| t.value.starts_with(value)),
        "description" => r
            .description
            .as_deref()
            .is_some_and(|d| all_found(value.split_whitespace(), &text_words(d))),
        "all" => {
            let mut found = lowercase(words(&r.name));
            let texts = r.description.iter().map(String::as_str);
            let tags = r
                .tags
                .iter()
                .flat_map(|t| [t.key.as_str(), t.value.as_str()]);
            for text in texts.chain(tags) {
                found.extend(text_words(text));
            }
            all_found(words(value), &found)
        }
        "primary-region" => {
            super::replication::primary_region(r).is_some_and(|region| region.starts_with(value))
        }
        // Managed secrets don't exist here: no owning service.
        _ => false,
    }
}

/// Every one of `wanted` (and there is at least one) is, ignoring case, the start of one of
/// `found` (lower case already).
fn all_found<'a>(wanted: impl IntoIterator<Item = &'a str>, found: &[String]) -> bool {
    let mut any = false;
    for w in wanted {
        any = true;
        let w = w.to_lowercase();
        if !found.iter().any(|f| f.starts_with(&w)) {
            return false;
        }
    }
    any
}

fn lowercase(words: Vec<&str>) -> Vec<String> {
    words.into_iter().map(str::to_lowercase).collect()
}

/// The words of a description or tag, in lower case: each space-separated one whole, and its
/// pieces as [`words`] breaks it.
fn text_words(text: &str) -> Vec<String> {
    let mut out = lowercase(text.split_whitespace().collect());
    out.extend(lowercase(words(text)));
    out
}

/// The words of `s` (see the module comment for where they break).
fn words(s: &str) -> Vec<&str> {
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, &(at, c)) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if let Some(from) = start.take() {
                out.push(&s[from..at]);
            }
            continue;
        }
        let prev = i.checked_sub(1).and_then(|p| chars.get(p)).map(|&(_, p)| p);
        let next = chars.get(i + 1).map(|&(_, n)| n);
        let breaks = match prev {
            Some(p) if p.is_alphanumeric() => {
                (p.is_lowercase() && c.is_uppercase())
                    || (!p.is_lowercase()
                        && c.is_uppercase()
                        && next.is_some_and(char::is_lowercase))
                    || (p.is_alphabetic() && c.is_numeric())
            }
            _ => false,
        };
        match start {
            Some(from) if breaks => {
                out.push(&s[from..at]);
                start = Some(at);
            }
            Some(_) => {}
            None => start = Some(at),
        }
    }
    if let Some(from) = start {
        out.push(&s[from..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tresor_store::{Scope, Tag};
    use tresor_types::{AccountId, Region, Timestamp};

    fn secret(name: &str, description: Option<&str>, tags: &[(&str, &str)]) -> SecretRecord {
        SecretRecord {
            scope: Scope {
                account: AccountId::parse("111111111111").unwrap(),
                region: Region::parse("us-east-1").unwrap(),
            },
            arn: format!("arn:aws:secretsmanager:us-east-1:111111111111:secret:{name}-AbCdEf"),
            name: name.to_owned(),
            description: description.map(str::to_owned),
            kms_key_id: None,
            tags: tags
                .iter()
                .map(|(k, v)| Tag {
                    key: (*k).to_owned(),
                    value: (*v).to_owned(),
                })
                .collect(),
            resource_policy: None,
            rotation: None,
            replication: None,
            created: Timestamp(0),
            last_changed: Timestamp(0),
            last_accessed: None,
            deletion: None,
            versions: Vec::new(),
        }
    }

    /// Which of `secrets` one filter `key: values` keeps.
    fn kept<'a>(secrets: &'a [SecretRecord], key: &str, values: &[&str]) -> Vec<&'a str> {
        let filter = Filter {
            key: Some(key.to_owned()),
            values: Some(values.iter().map(|v| (*v).to_owned()).collect()),
        };
        let specs = filter_specs(&[filter]).unwrap();
        secrets
            .iter()
            .filter(|r| specs.iter().all(|s| matches(s, r)))
            .map(|r| r.name.as_str())
            .collect()
    }

    #[test]
    fn words_break_at_punctuation_case_changes_and_digits() {
        assert_eq!(words("test"), ["test"]);
        assert_eq!(words("my test"), ["my", "test"]);
        assert_eq!(words("Mytest"), ["Mytest"]);
        assert_eq!(words("MyTestPhrase"), ["My", "Test", "Phrase"]);
        assert_eq!(words("myTest"), ["my", "Test"]);
        assert_eq!(words("prod/AppBeta/x1"), ["prod", "App", "Beta", "x", "1"]);
        assert_eq!(words("uat/COMPANY/a"), ["uat", "COMPANY", "a"]);
        assert_eq!(words("uat/COMPANYthings"), ["uat", "COMPAN", "Ythings"]);
        assert_eq!(
            words("SecretOne3fa2b1"),
            ["Secret", "One", "3fa", "2b", "1"]
        );
        assert_eq!(words("credsDatabase#892"), ["creds", "Database", "892"]);
        assert_eq!(words("  +/ "), Vec::<&str>::new());
    }

    #[test]
    fn all_matches_words_of_any_attribute_ignoring_case() {
        let secrets = [
            secret("SecretOne3fa", None, &[]),
            secret("SecretTwo3fa", Some("DescTwo"), &[]),
            secret("Thirdsecret3fa", None, &[]),
            secret("SecretFTag3fa", None, &[("1", "foo")]),
            secret("SecretFValue3fa", None, &[("foo", "v")]),
            secret("none3fa", None, &[]),
        ];
        let (one, two, third, ftag, fvalue) = (
            "SecretOne3fa",
            "SecretTwo3fa",
            "Thirdsecret3fa",
            "SecretFTag3fa",
            "SecretFValue3fa",
        );
        assert_eq!(kept(&secrets, "all", &["SecretOne"]), [one]);
        assert_eq!(kept(&secrets, "all", &["foo"]), [ftag, fvalue]);
        for v in ["Secret", "secret", "sec"] {
            assert_eq!(kept(&secrets, "all", &[v]), [one, two, ftag, fvalue], "{v}");
        }
        assert!(kept(&secrets, "all", &["ret"]).is_empty());
        assert!(kept(&secrets, "all", &["SomeSecret"]).is_empty());
        assert_eq!(kept(&secrets, "all", &["d"]), [two]);
        assert_eq!(kept(&secrets, "all", &["d t"]), [two]);
        assert_eq!(kept(&secrets, "all", &["t"]), [two, third, ftag]);
        assert_eq!(kept(&secrets, "all", &["3fa"]).len(), 6);
        // The words may come from different attributes.
        assert_eq!(kept(&secrets, "all", &["foo tag"]), [ftag]);
    }

    #[test]
    fn all_splits_names_at_punctuation_and_case() {
        let names = [
            "prod/AppBeta/x1",
            "prod_AppBeta_x1",
            "prod+AppBeta+x1",
            "prod=AppBeta=x1",
            "prod.AppBeta.x1",
            "prod@AppBeta@x1",
            "prod-AppBeta-x1",
            "uat/COMPANY/x1",
            "uat/COMPANYthings/x1",
        ];
        let secrets: Vec<_> = names.iter().map(|n| secret(n, None, &[])).collect();
        let app_beta = &names[..7];
        assert_eq!(kept(&secrets, "all", &["AppBeta"]), app_beta);
        assert_eq!(kept(&secrets, "all", &["Beta"]), app_beta);
        assert_eq!(kept(&secrets, "all", &["AppBeta", "prod"]), app_beta);
        assert!(kept(&secrets, "all", &["+"]).is_empty());
        assert_eq!(kept(&secrets, "all", &["x1"]), names);
        assert_eq!(kept(&secrets, "all", &["company"]), ["uat/COMPANY/x1"]);
        assert!(kept(&secrets, "all", &["things"]).is_empty());
        assert_eq!(
            kept(&secrets, "all", &["Ythings"]),
            ["uat/COMPANYthings/x1"]
        );
        assert!(kept(&secrets, "all", &["N"]).is_empty());
        assert!(kept(&secrets, "all", &["pany"]).is_empty());
    }

    #[test]
    fn description_matches_every_word_ignoring_case() {
        let secrets = [
            secret("foo", Some("one two"), &[]),
            secret("bar", Some("one and two"), &[]),
            secret("baz", Some("one"), &[]),
            secret("qux", Some("two"), &[]),
            secret("none", Some("unrelated"), &[]),
            secret("bare", None, &[]),
        ];
        assert_eq!(kept(&secrets, "description", &["one two"]), ["foo", "bar"]);
        assert_eq!(kept(&secrets, "description", &["O T"]), ["foo", "bar"]);
        assert_eq!(kept(&secrets, "description", &["t"]), ["foo", "bar", "qux"]);
        assert_eq!(
            kept(&secrets, "description", &["!o"]),
            ["qux", "none", "bare"]
        );
        assert_eq!(kept(&secrets, "description", &["one", "!two"]), ["baz"]);

        let articles = [
            secret("1", Some("a secret"), &[]),
            secret("2", Some("an secret"), &[]),
            secret("3", Some("asecret"), &[]),
            secret("4", Some("thesecret"), &[]),
        ];
        assert_eq!(kept(&articles, "description", &["a"]), ["1", "2", "3"]);
        assert_eq!(kept(&articles, "description", &["!a"]), ["4"]);
        assert_eq!(kept(&articles, "description", &["a secret"]), ["1", "2"]);
        assert_eq!(kept(&articles, "description", &["!c"]).len(), 4);

        let camel = [secret("k", Some("OpenAI production key"), &[])];
        for v in ["openai", "OPENAI prod", "key open", "AI"] {
            assert_eq!(kept(&camel, "description", &[v]), ["k"], "{v}");
        }
        assert!(kept(&camel, "description", &["openai-prod"]).is_empty());
        assert_eq!(kept(&camel, "all", &["OpenAI"]), ["k"]);
        assert_eq!(kept(&camel, "all", &["openai"]), ["k"]);
    }

    #[test]
    fn name_is_a_case_sensitive_prefix_of_each_word() {
        let secrets = [
            secret("testing1/one-1", None, &[]),
            secret("/testing2/two-1", None, &[]),
            secret("DatabaseSecret", None, &[]),
            secret("databaseSecret", None, &[]),
            secret("MyData", None, &[]),
        ];
        assert_eq!(kept(&secrets, "name", &["/"]), ["/testing2/two-1"]);
        assert_eq!(kept(&secrets, "name", &["!/"]).len(), 4);
        assert!(kept(&secrets, "name", &["testing1 one"]).is_empty());
        assert_eq!(
            kept(&secrets, "name", &["testing1 test"]),
            ["testing1/one-1"]
        );
        assert_eq!(kept(&secrets, "name", &["Data"]), ["DatabaseSecret"]);
        assert!(kept(&secrets, "name", &["Secret"]).is_empty());
    }

    #[test]
    fn tags_are_case_sensitive_prefixes_of_the_whole_key_or_value() {
        let secrets = [
            secret("a", None, &[("Owner", "Load testing")]),
            secret("b", None, &[("team", "ml")]),
        ];
        assert_eq!(kept(&secrets, "tag-key", &["Own"]), ["a"]);
        assert!(kept(&secrets, "tag-key", &["own"]).is_empty());
        assert_eq!(kept(&secrets, "tag-value", &["Load te"]), ["a"]);
        assert!(kept(&secrets, "tag-value", &["testing"]).is_empty());
        assert_eq!(kept(&secrets, "tag-key", &["!team"]), ["a"]);
        assert!(kept(&secrets, "primary-region", &["us-east-1"]).is_empty());
        assert_eq!(kept(&secrets, "owning-service", &["!x"]).len(), 2);
    }

    #[test]
    fn primary_region_is_a_prefix_of_a_replicated_secrets_primary_region() {
        let mut replica = secret("replica", None, &[]);
        replica.replication = Some(r#"{"replica":{"primary_region":"eu-west-1"}}"#.to_owned());
        let mut primary = secret("primary", None, &[]);
        primary.replication =
            Some(r#"{"primary":{"replicas":[{"region":"ap-south-1"}]}}"#.to_owned());
        let secrets = [replica, primary, secret("plain", None, &[])];
        assert_eq!(kept(&secrets, "primary-region", &["eu-"]), ["replica"]);
        assert_eq!(
            kept(&secrets, "primary-region", &["us-east-1"]),
            ["primary"]
        );
        assert!(kept(&secrets, "primary-region", &["ap-south-1"]).is_empty());
        assert_eq!(
            kept(&secrets, "primary-region", &["!eu"]),
            ["primary", "plain"]
        );
    }
}
