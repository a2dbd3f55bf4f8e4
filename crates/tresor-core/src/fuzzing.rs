//! Parsers of the core that are private to it, reachable for the fuzz targets in `fuzz/` and
//! the test that replays their corpus (`crates/tresor-fuzz`). The core itself does not use
//! this module; each function only forwards to the parser the operations call.

/// The parts of an IAM entity ARN, `(account, kind, path, name)`, as `CreateRole` (trust
/// policy principals), `AttachUserPolicy` and `AssumeRole` read them; `None` if it is not one.
pub fn parse_iam_arn(arn: &str) -> Option<(&str, &str, &str, &str)> {
    crate::iam::format::parse_iam_arn(arn)
}
