use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serializer;

/// A point in time, milliseconds since the Unix epoch (UTC). AWS JSON services send epoch
/// seconds with a fraction; [`Timestamp::epoch_seconds`] gives that form.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn now() -> Self {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Self(ms)
    }
    pub fn from_millis(ms: i64) -> Self {
        Self(ms)
    }
    pub fn millis(self) -> i64 {
        self.0
    }
    pub fn epoch_seconds(self) -> f64 {
        self.0 as f64 / 1000.0
    }
    /// Midnight UTC of this instant's day: AWS reports `LastAccessedDate` at day resolution.
    pub fn day_floor(self) -> Self {
        const DAY_MS: i64 = 86_400_000;
        Self(self.0.div_euclid(DAY_MS) * DAY_MS)
    }
    pub fn plus_days(self, days: i64) -> Self {
        Self(self.0 + days * 86_400_000)
    }
    pub fn plus_seconds(self, secs: i64) -> Self {
        Self(self.0 + secs * 1000)
    }
}

/// `#[serde(serialize_with = "epoch")]`: epoch seconds with a fraction, as the awsJson
/// protocols (Secrets Manager, CloudTrail) send timestamps.
pub fn epoch<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(t.epoch_seconds())
}

/// [`epoch`] for an optional timestamp.
#[allow(clippy::ref_option)]
pub fn epoch_opt<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => epoch(t, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_floor_truncates_to_midnight() {
        let t = Timestamp(1_700_000_123_456);
        assert_eq!(t.day_floor().0 % 86_400_000, 0);
        assert!(t.day_floor() <= t);
        assert!(t.0 - t.day_floor().0 < 86_400_000);
    }
}
