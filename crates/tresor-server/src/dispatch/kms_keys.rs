//! KMS key management (`TrentService.<Operation>` other than the cryptographic ones): each
//! body decoded into its typed request and checked against the model, the core operation run,
//! the response encoded.

use tresor_core::kms::Operation;
use tresor_core::{Core, CoreError, RequestContext};

use super::super::{decode, encode};

pub(super) fn run(
    core: &Core,
    ctx: &RequestContext,
    op: Operation,
    body: &[u8],
) -> Result<Vec<u8>, CoreError> {
    use Operation as O;
    match op {
        O::CreateKey => encode(core.create_key(ctx, decode(body)?)),
        O::DescribeKey => encode(core.describe_key(ctx, decode(body)?)),
        O::ListKeys => encode(core.list_keys(ctx, decode(body)?)),
        O::UpdateKeyDescription => encode(core.update_key_description(ctx, decode(body)?)),
        O::EnableKey => encode(core.enable_key(ctx, decode(body)?)),
        O::DisableKey => encode(core.disable_key(ctx, decode(body)?)),
        O::ScheduleKeyDeletion => encode(core.schedule_key_deletion(ctx, decode(body)?)),
        O::CancelKeyDeletion => encode(core.cancel_key_deletion(ctx, decode(body)?)),
        O::CreateAlias => encode(core.create_alias(ctx, decode(body)?)),
        O::UpdateAlias => encode(core.update_alias(ctx, decode(body)?)),
        O::DeleteAlias => encode(core.delete_alias(ctx, decode(body)?)),
        O::ListAliases => encode(core.list_aliases(ctx, decode(body)?)),
        O::EnableKeyRotation => encode(core.enable_key_rotation(ctx, decode(body)?)),
        O::DisableKeyRotation => encode(core.disable_key_rotation(ctx, decode(body)?)),
        O::GetKeyRotationStatus => encode(core.get_key_rotation_status(ctx, decode(body)?)),
        O::RotateKeyOnDemand => encode(core.rotate_key_on_demand(ctx, decode(body)?)),
        O::ListKeyRotations => encode(core.list_key_rotations(ctx, decode(body)?)),
        O::GetKeyPolicy => encode(core.get_key_policy(ctx, decode(body)?)),
        O::PutKeyPolicy => encode(core.put_key_policy(ctx, decode(body)?)),
        O::ListKeyPolicies => encode(core.list_key_policies(ctx, decode(body)?)),
        O::TagResource => encode(core.tag_kms_key(ctx, decode(body)?)),
        O::UntagResource => encode(core.untag_kms_key(ctx, decode(body)?)),
        O::ListResourceTags => encode(core.list_kms_key_tags(ctx, decode(body)?)),
        O::Encrypt
        | O::Decrypt
        | O::ReEncrypt
        | O::GenerateDataKey
        | O::GenerateDataKeyWithoutPlaintext
        | O::GenerateRandom => Err(CoreError::Internal(format!(
            "{} is a cryptographic operation",
            op.name()
        ))),
    }
}
