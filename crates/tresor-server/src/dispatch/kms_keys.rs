//! SKELETON: the KMS keys operations, filled in by its helper.

use tresor_core::kms::Operation;
use tresor_core::{Core, CoreError, KmsError, RequestContext};

pub(super) fn run(
    _core: &Core,
    _ctx: &RequestContext,
    op: Operation,
    _body: &[u8],
) -> Result<Vec<u8>, CoreError> {
    Err(CoreError::Kms(
        KmsError::UnsupportedOperation,
        format!("{} is not available yet.", op.name()),
    ))
}
