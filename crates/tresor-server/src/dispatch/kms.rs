//! KMS (`TrentService.<Operation>`): key management in [`keys`], the cryptographic operations
//! in [`crypto`].

use tresor_core::kms::Operation;
use tresor_core::{Core, CoreError, RequestContext};

#[path = "kms_crypto.rs"]
mod crypto;
#[path = "kms_keys.rs"]
mod keys;

/// Run one KMS operation.
pub fn kms(
    core: &Core,
    ctx: &RequestContext,
    op: Operation,
    body: &[u8],
) -> Result<Vec<u8>, CoreError> {
    if op.is_cryptographic() {
        crypto::run(core, ctx, op, body)
    } else {
        keys::run(core, ctx, op, body)
    }
}
