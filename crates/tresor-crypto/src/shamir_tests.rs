#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

fn scheme(n: u8, k: u8) -> ShareScheme {
    ShareScheme::new(n, k).unwrap()
}

fn random_secret() -> [u8; SHAMIR_SECRET_LEN] {
    let mut s = [0u8; SHAMIR_SECRET_LEN];
    fill_random(&mut s).unwrap();
    s
}

/// Every subset of `items` with exactly `k` members.
fn subsets<T: Clone>(items: &[T], k: usize) -> Vec<Vec<T>> {
    if k == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for (i, first) in items.iter().enumerate() {
        for mut rest in subsets(&items[i + 1..], k - 1) {
            rest.insert(0, first.clone());
            out.push(rest);
        }
    }
    out
}

#[test]
fn field_arithmetic_matches_the_aes_field() {
    // FIPS-197 §4.2: {57} • {83} = {c1}, {57} • {13} = {fe}.
    assert_eq!(gf_mul(0x57, 0x83), 0xc1);
    assert_eq!(gf_mul(0x57, 0x13), 0xfe);
    assert_eq!(gf_inv(0), 0);
    for a in 1..=255u8 {
        assert_eq!(gf_mul(a, gf_inv(a)), 1, "{a}");
        for b in [0u8, 1, 2, 0x80, 0xff] {
            assert_eq!(gf_mul(a, b), gf_mul(b, a));
        }
    }
}

#[test]
fn every_threshold_subset_of_five_recombines() {
    let secret = random_secret();
    let shares = split_secret(&secret, scheme(5, 3)).unwrap();
    assert_eq!(
        shares.iter().map(Share::index).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    for k in 3..=5 {
        let sets = subsets(&shares, k);
        assert_eq!(sets.len(), [10, 5, 1][k - 3]);
        for set in sets {
            assert_eq!(combine_shares(&set).unwrap().expose(), secret.as_slice());
        }
    }
    // Fewer than the threshold combine to something, but not to the secret.
    for set in subsets(&shares, 2) {
        assert_ne!(combine_shares(&set).unwrap().expose(), secret.as_slice());
    }
}

#[test]
fn fewer_than_threshold_shares_are_consistent_with_every_secret() {
    // With K = 3, two shares fix two points of a degree-2 polynomial per byte. For every
    // candidate secret byte there must be exactly one polynomial through (0, s) and both
    // points: the two shares then say nothing about the secret.
    let secret = random_secret();
    let shares = split_secret(&secret, scheme(5, 3)).unwrap();
    let (a, b) = (&shares[1], &shares[4]);
    let (ya, yb) = (a.value[0], b.value[0]);
    for s in 0..=255u8 {
        let mut consistent = 0;
        for c1 in 0..=255u8 {
            for c2 in 0..=255u8 {
                let at = |x: u8| s ^ gf_mul(c1, x) ^ gf_mul(c2, gf_mul(x, x));
                if at(a.index) == ya && at(b.index) == yb {
                    consistent += 1;
                }
            }
        }
        assert_eq!(consistent, 1, "secret byte {s}");
    }
}

#[test]
fn splits_use_fresh_randomness() {
    let secret = random_secret();
    let one = split_secret(&secret, scheme(3, 2)).unwrap();
    let two = split_secret(&secret, scheme(3, 2)).unwrap();
    assert_ne!(one[0].value.as_slice(), two[0].value.as_slice());
    for share in &one {
        assert_ne!(share.value.as_slice(), secret.as_slice());
    }
}

#[test]
fn test_vectors_match_an_independent_implementation() {
    // Computed by this Python snippet (GF(2^8), AES polynomial), not by this crate:
    //   def mul(a, b):
    //       p = 0
    //       while b:
    //           if b & 1: p ^= a
    //           a <<= 1
    //           if a & 0x100: a ^= 0x11b
    //           b >>= 1
    //       return p
    //   secret = bytes(range(32))
    //   c1 = bytes((7 * i + 3) % 256 for i in range(32))
    //   c2 = bytes((13 * i + 200) % 256 for i in range(32))
    //   for x in (1, 2, 3, 4, 5, 255):
    //       print(x, bytes(s ^ mul(a, x) ^ mul(b, mul(x, x))
    //                      for s, a, b in zip(secret, c1, c2)).hex())
    //   # and the text form of share 1:
    //   check = hashlib.sha256(b"tresor-share-v1" + bytes([1]) + y1).digest()[:4]
    //   "tresor-share-v1-1-" + base64.urlsafe_b64encode(y1 + check).decode().rstrip("=")
    const EXPECTED: [(u8, &str); 6] = [
        (
            1,
            "cbdef1f4e72a3d100376090c3f2215e8fbce2124575a6d40b3a6b9fcef928598",
        ),
        (
            2,
            "0b6c85a2e76d04e3be79abec296e27cda047f5d20c6b82a555521b1c59858ccb",
        ),
        (
            3,
            "c0b3765504423ff4b506a8eb1a413c2a4b98c6e54f24f9f2feedb8fbaa0a174c",
        ),
        (
            4,
            "38d6e411210dc9d1c9e7f957513f20cc845cf5006a44b618823773704074eb85",
        ),
        (
            5,
            "f30917e6c222f2c6c298fa5062103b2b6f83c637290bcd4f2988d097b3fb7002",
        ),
        (
            255,
            "6dc60b8b5968020e6de9e123a7946ee4fe03901038625ed60ce517ee3cf5ddee",
        ),
    ];
    let mut secret = [0u8; SHAMIR_SECRET_LEN];
    let mut c1 = Zeroizing::new([0u8; SHAMIR_SECRET_LEN]);
    let mut c2 = Zeroizing::new([0u8; SHAMIR_SECRET_LEN]);
    for i in 0..SHAMIR_SECRET_LEN {
        secret[i] = i as u8;
        c1[i] = ((7 * i + 3) % 256) as u8;
        c2[i] = ((13 * i + 200) % 256) as u8;
    }
    let shares = evaluate(&secret, &[c1, c2], 255);
    for (x, hex_value) in EXPECTED {
        let share = &shares[usize::from(x) - 1];
        assert_eq!(share.index, x);
        assert_eq!(hex::encode(share.value.as_slice()), hex_value, "x = {x}");
    }
    assert_eq!(
        shares[0].encode().expose(),
        b"tresor-share-v1-1-y97x9OcqPRADdgkMPyIV6PvOISRXWm1As6a5_O-ShZjC2l-q"
    );
    let picked = [shares[254].clone(), shares[2].clone(), shares[0].clone()];
    assert_eq!(combine_shares(&picked).unwrap().expose(), secret.as_slice());
}

#[test]
fn schemes_out_of_bounds_are_refused() {
    assert!(ShareScheme::new(5, 1).is_err());
    assert!(ShareScheme::new(1, 1).is_err());
    assert!(ShareScheme::new(3, 4).is_err());
    assert!(ShareScheme::new(2, 2).is_ok());
    assert!(ShareScheme::new(255, 255).is_ok());
    let bad = ShareScheme {
        shares: 3,
        threshold: 1,
    };
    assert!(split_secret(&random_secret(), bad).is_err());
    assert_eq!(
        split_secret(&random_secret(), scheme(255, 2))
            .unwrap()
            .len(),
        255
    );
}

#[test]
fn duplicate_indexes_and_single_shares_are_refused() {
    let shares = split_secret(&random_secret(), scheme(3, 2)).unwrap();
    let err = combine_shares(&[shares[0].clone(), shares[0].clone()]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid share: two shares have the same index"
    );
    assert!(combine_shares(&[shares[1].clone()]).is_err());
    assert!(combine_shares(&[]).is_err());
}

#[test]
fn text_form_round_trips_and_catches_typos() {
    let shares = split_secret(&random_secret(), scheme(3, 2)).unwrap();
    for share in &shares {
        let text = share.encode();
        let back = Share::parse(text.expose()).unwrap();
        assert_eq!(back.index, share.index);
        assert_eq!(back.value.as_slice(), share.value.as_slice());
        let padded = [b"  ", text.expose(), b"\n"].concat();
        assert_eq!(Share::parse(&padded).unwrap().index, share.index);

        // Every single-character change is refused, and the error never quotes the share.
        let text = std::str::from_utf8(text.expose()).unwrap().to_owned();
        for at in 0..text.len() {
            let mut typo = text.clone().into_bytes();
            typo[at] = if typo[at] == b'A' { b'B' } else { b'A' };
            if typo == text.as_bytes() {
                continue;
            }
            match Share::parse(&typo) {
                Err(e) => assert!(!e.to_string().contains(&text[18..30]), "{e}"),
                Ok(s) => panic!("typo at {at} accepted as share {}", s.index),
            }
        }
    }
    for bad in [
        &b""[..],
        b"tresor-share-v1-",
        b"tresor-share-v1-0-AAAA",
        b"tresor-share-v1-256-AAAA",
        b"tresor-share-v1-x-AAAA",
        b"tresor-share-v1-1-AAAA",
        b"tresor-share-v2-1-y97x9OcqPRADdgkMPyIV6PvOISRXWm1As6a5_O-ShZjC2l-q",
    ] {
        assert!(matches!(Share::parse(bad), Err(CryptoError::Share(_))));
    }
}

#[test]
fn debug_never_shows_the_value() {
    let shares = split_secret(&random_secret(), scheme(2, 2)).unwrap();
    let debug = format!("{:?}", shares[1]);
    assert_eq!(debug, "Share { index: 2, value: \"[REDACTED]\" }");
    assert!(!debug.contains(&hex::encode(shares[1].value.as_slice())));
}

#[test]
fn arbitrary_bytes_never_panic_the_parser() {
    let share = split_secret(&random_secret(), scheme(3, 2)).unwrap()[0].encode();
    for len in [0usize, 1, 15, 16, 17, 20, 64, 66, 67, 68, 200, 5000] {
        let junk = crate::random_bytes(len).unwrap();
        assert!(Share::parse(&junk).is_err());
        let prefixed = [b"tresor-share-v1-".as_slice(), &junk].concat();
        assert!(Share::parse(&prefixed).is_err());
    }
    // Every truncation of a real share is refused.
    for end in 0..share.len() {
        assert!(Share::parse(&share.expose()[..end]).is_err(), "{end}");
    }
}
