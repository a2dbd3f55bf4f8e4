//! KMS `CiphertextBlob`s: the bytes any caller hands Decrypt and ReEncrypt, read through
//! tresor-crypto's public API before any key is loaded.
//!
//! Input: the blob.
//!
//! Properties:
//! - reading the header and opening answer `Ok` or `Err`, never panic, and agree: a blob
//!   whose header does not parse does not open;
//! - arbitrary bytes never open under a key they were not sealed with (a forgery would need
//!   the key);
//! - the input's first 4096 bytes, sealed under a key and a context taken from the input, open
//!   to themselves; the blob's header names the key id and version it was sealed under; it
//!   does not open under another context; and flipping its first, middle or last byte makes it
//!   fail.

use std::collections::BTreeMap;

use tresor_crypto::{
    ciphertext_blob_header, open_ciphertext_blob, seal_ciphertext_blob, EncryptionContext,
    KeyMaterial, MAX_BLOB_PLAINTEXT,
};

const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

/// The harness of the `kms_ciphertext_blob` target.
pub fn run(data: &[u8]) {
    let Ok(key) = KeyMaterial::generate() else {
        panic!("the system random number generator failed");
    };
    let context = context_of(data);
    let header = ciphertext_blob_header(data);
    let opened = open_ciphertext_blob(&key, &context, data);
    assert!(opened.is_err(), "arbitrary bytes opened under a fresh key");
    if header.is_err() {
        assert!(open_ciphertext_blob(&key, &EncryptionContext::default(), data).is_err());
    }
    round_trip(&key, &context, data);
}

/// A context from the input's first line, so contexts vary with it.
fn context_of(data: &[u8]) -> EncryptionContext {
    let line = data.split(|b| *b == b'\n').next().unwrap_or_default();
    let value = String::from_utf8_lossy(&line[..line.len().min(64)]).into_owned();
    EncryptionContext(BTreeMap::from([("input".to_owned(), value)]))
}

fn round_trip(key: &KeyMaterial, context: &EncryptionContext, data: &[u8]) {
    let plaintext = &data[..data.len().min(MAX_BLOB_PLAINTEXT)];
    let version = u32::try_from(data.len()).unwrap_or(u32::MAX);
    let Ok(blob) = seal_ciphertext_blob(key, KEY_ID, version, context, plaintext) else {
        panic!("sealing at most 4096 bytes failed");
    };
    match ciphertext_blob_header(&blob) {
        Ok(h) => assert!(
            h.key_id == KEY_ID && h.key_version == version,
            "header {h:?}"
        ),
        Err(e) => panic!("the header of a fresh blob does not parse: {e}"),
    }
    match open_ciphertext_blob(key, context, &blob) {
        Ok(back) => assert!(back.expose() == plaintext, "the blob opened to other bytes"),
        Err(e) => panic!("a fresh blob does not open: {e}"),
    }
    let mut other = context.clone();
    other.0.insert("other".to_owned(), String::new());
    assert!(
        open_ciphertext_blob(key, &other, &blob).is_err(),
        "opened under another context"
    );
    for at in [0, blob.len() / 2, blob.len() - 1] {
        let mut changed = blob.clone();
        changed[at] ^= 0x01;
        assert!(
            open_ciphertext_blob(key, context, &changed).is_err(),
            "opened with byte {at} flipped"
        );
    }
}
