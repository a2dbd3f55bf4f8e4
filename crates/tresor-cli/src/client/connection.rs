//! Where calls go and as whom: the endpoint, region and credentials read from `--endpoint`
//! and the environment, the way the aws CLI reads them.

use std::path::PathBuf;

use aws_credential_types::Credentials;

use super::CallError;

/// The region signed for when neither `AWS_REGION` nor `AWS_DEFAULT_REGION` is set.
const DEFAULT_REGION: &str = "us-east-1";

/// Where to send calls and as whom.
pub struct Connection {
    pub(super) endpoint: http::Uri,
    pub(super) region: String,
    pub(super) credentials: Credentials,
    pub(super) ca_bundle: Option<PathBuf>,
}

impl Connection {
    /// Reads the connection from `--endpoint` (when given) and the environment through `var`
    /// (`std::env::var` in the binary; a map in tests). Empty variables count as unset, as in
    /// the aws CLI.
    pub fn from_env(
        endpoint_flag: Option<&str>,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, CallError> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let endpoint_text = match endpoint_flag.filter(|e| !e.trim().is_empty()) {
            Some(flag) => flag.trim().to_owned(),
            None => var("AWS_ENDPOINT_URL").ok_or_else(|| {
                CallError::Config(
                    "no endpoint: set AWS_ENDPOINT_URL (e.g. http://127.0.0.1:8750) or pass --endpoint"
                        .to_owned(),
                )
            })?,
        };
        let endpoint = parse_endpoint(endpoint_text.trim())?;
        let region = var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| DEFAULT_REGION.to_owned());
        let access_key_id = var("AWS_ACCESS_KEY_ID").ok_or_else(|| {
            CallError::Config(
                "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".to_owned(),
            )
        })?;
        let secret_access_key = var("AWS_SECRET_ACCESS_KEY").ok_or_else(|| {
            CallError::Config(
                "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not".to_owned(),
            )
        })?;
        let credentials = Credentials::new(
            access_key_id.trim(),
            secret_access_key.trim(),
            var("AWS_SESSION_TOKEN").map(|t| t.trim().to_owned()),
            None,
            "environment",
        );
        Ok(Self {
            endpoint,
            region: region.trim().to_owned(),
            credentials,
            ca_bundle: var("AWS_CA_BUNDLE").map(PathBuf::from),
        })
    }
}

/// An `http://` or `https://` URL with a host; a path is kept (a proxy may mount the API
/// under one), a query is refused because SigV4 would have to sign it and no API uses one.
pub(super) fn parse_endpoint(text: &str) -> Result<http::Uri, CallError> {
    let bad = |why: &str| CallError::Config(format!("endpoint {text:?} {why}"));
    let uri: http::Uri = text
        .parse()
        .map_err(|_| bad("is not a URL such as http://127.0.0.1:8750"))?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        _ => return Err(bad("must start with http:// or https://")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    if uri.query().is_some() {
        return Err(bad("must not have a query string"));
    }
    Ok(uri)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const CREDS: [(&str, &str); 2] = [
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret-never-shown"),
    ];

    #[test]
    fn the_flag_wins_over_the_environment_and_the_region_defaults() {
        let mut vars = CREDS.to_vec();
        vars.push(("AWS_ENDPOINT_URL", "http://from-env:1"));
        let c = Connection::from_env(Some("https://flag:2"), env(&vars)).unwrap();
        assert_eq!(c.endpoint.to_string(), "https://flag:2/");
        assert_eq!(c.region, "us-east-1");
        let c = Connection::from_env(None, env(&vars)).unwrap();
        assert_eq!(c.endpoint.to_string(), "http://from-env:1/");
    }

    #[test]
    fn aws_region_comes_before_aws_default_region() {
        let mut vars = CREDS.to_vec();
        vars.extend([
            ("AWS_ENDPOINT_URL", "http://h:1"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
        ]);
        assert_eq!(
            Connection::from_env(None, env(&vars)).unwrap().region,
            "eu-west-1"
        );
        vars.push(("AWS_REGION", "ap-south-1"));
        assert_eq!(
            Connection::from_env(None, env(&vars)).unwrap().region,
            "ap-south-1"
        );
    }

    #[test]
    fn a_missing_endpoint_or_credential_is_a_clear_error() {
        let err = Connection::from_env(None, env(&CREDS))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("AWS_ENDPOINT_URL") && err.contains("--endpoint"),
            "{err}"
        );
        let err = Connection::from_env(None, env(&[("AWS_ENDPOINT_URL", ""), CREDS[0], CREDS[1]]))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("no endpoint"), "{err}");
        let err = Connection::from_env(Some("http://h:1"), env(&CREDS[..1]))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("AWS_SECRET_ACCESS_KEY"), "{err}");
        let err = Connection::from_env(Some("http://h:1"), env(&[]))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("AWS_ACCESS_KEY_ID"), "{err}");
    }

    #[test]
    fn bad_endpoints_are_refused_with_the_reason() {
        for (endpoint, why) in [
            ("127.0.0.1:8750", "http://"),
            ("ftp://h/", "http://"),
            ("http://h:1/?a=b", "query"),
            ("not a url", "not a URL"),
        ] {
            let err = Connection::from_env(Some(endpoint), env(&CREDS))
                .err()
                .unwrap()
                .to_string();
            assert!(err.contains(why), "{endpoint}: {err}");
        }
    }

    #[test]
    fn the_secret_key_is_not_in_debug_output() {
        let c = Connection::from_env(Some("http://h:1"), env(&CREDS)).unwrap();
        assert!(!format!("{:?}", c.credentials).contains("secret-never-shown"));
    }
}
