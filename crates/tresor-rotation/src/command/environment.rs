//! The environment a command rotator runs in: built from nothing, so that none of the
//! server's own variables (its passphrase, its cloud credentials) reach the program.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use crate::rotator::{Credentials, Environment};

/// `PATH` when the server has none.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Every variable the program gets, and nothing else.
///
/// The AWS SDKs and CLI take `AWS_ENDPOINT_URL`, `AWS_REGION` and the three credential
/// variables; AWS's rotation templates read `SECRETS_MANAGER_ENDPOINT`; `AWS_CONFIG_FILE` and
/// `AWS_SHARED_CREDENTIALS_FILE` at `/dev/null` and `AWS_EC2_METADATA_DISABLED` keep the SDKs
/// from finding other credentials (a profile, an instance role) if these were refused.
pub(super) fn variables(
    credentials: &Credentials,
    env: &Environment,
) -> Vec<(&'static str, OsString)> {
    let path = std::env::var_os("PATH")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| DEFAULT_PATH.into());
    let mut vars: Vec<(&'static str, OsString)> = vec![
        ("PATH", path),
        ("LANG", "C.UTF-8".into()),
        (
            "AWS_ACCESS_KEY_ID",
            credentials.access_key_id.clone().into(),
        ),
        (
            "AWS_SECRET_ACCESS_KEY",
            bytes(credentials.secret_access_key.expose()),
        ),
        (
            "AWS_SESSION_TOKEN",
            bytes(credentials.session_token.expose()),
        ),
        ("AWS_ENDPOINT_URL", env.endpoint_url.clone().into()),
        ("SECRETS_MANAGER_ENDPOINT", env.endpoint_url.clone().into()),
        ("AWS_REGION", env.region.clone().into()),
        ("AWS_DEFAULT_REGION", env.region.clone().into()),
        ("AWS_CONFIG_FILE", "/dev/null".into()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ];
    if let Some(home) = std::env::var_os("HOME") {
        vars.push(("HOME", home));
    }
    if let Some(ca) = &env.ca_bundle {
        vars.push(("AWS_CA_BUNDLE", ca.clone().into_os_string()));
    }
    vars
}

fn bytes(b: &[u8]) -> OsString {
    OsStr::from_bytes(b).to_owned()
}
