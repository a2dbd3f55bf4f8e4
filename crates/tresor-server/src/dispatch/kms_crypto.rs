//! KMS's cryptographic operations: each body decoded into its typed request, checked against
//! the model, run by the core, and its response encoded.

use tresor_core::kms::Operation;
use tresor_core::{Core, CoreError, KmsError, RequestContext};

use crate::dispatch::{decode, encode};

pub(super) fn run(
    core: &Core,
    ctx: &RequestContext,
    op: Operation,
    body: &[u8],
) -> Result<Vec<u8>, CoreError> {
    use Operation as O;
    match op {
        O::Encrypt => encode(core.kms_encrypt(ctx, decode(body)?)),
        O::Decrypt => encode(core.kms_decrypt(ctx, decode(body)?)),
        O::ReEncrypt => encode(core.kms_re_encrypt(ctx, decode(body)?)),
        O::GenerateDataKey => encode(core.kms_generate_data_key(ctx, decode(body)?)),
        O::GenerateDataKeyWithoutPlaintext => {
            encode(core.kms_generate_data_key_without_plaintext(ctx, decode(body)?))
        }
        O::GenerateRandom => encode(core.kms_generate_random(ctx, decode(body)?)),
        other => Err(CoreError::Kms(
            KmsError::UnsupportedOperation,
            format!("{} is not a cryptographic operation.", other.name()),
        )),
    }
}
