//! Property: any single-byte change to any record's event JSON is detected at that record.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Fixture;
use proptest::prelude::*;
use std::sync::OnceLock;
use tresor_audit::{verify_live, TamperKind};

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| Fixture::new(30, 10))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_single_byte_change_is_detected(
        index in 0usize..30,
        position in any::<prop::sample::Index>(),
        byte in 0u8..128,
        with_key in any::<bool>(),
    ) {
        let f = fixture();
        let mut records = f.records.clone();
        let mut bytes = records[index].event_json.clone().into_bytes();
        let at = position.index(bytes.len());
        prop_assume!(bytes[at] != byte);
        bytes[at] = byte;
        records[index].event_json = String::from_utf8(bytes).expect("ASCII stays UTF-8");
        let key = with_key.then_some(&f.mac_key);
        let err = verify_live(records, &f.checkpoints, key, &f.public_key).unwrap_err();
        prop_assert_eq!(err.first_bad_seq, index as u64 + 1);
        prop_assert_eq!(err.kind, TamperKind::Edited);
    }
}
