//! The contract of [`Store`], [`IdentityStore`], [`AuditStore`], [`GatewayStore`],
//! [`RotationStore`] and [`KmsStore`], as executable checks that every backend must pass.
//!
//! Each case takes a fresh, empty store. A backend's tests run them all, either one `#[test]`
//! per case with [`conformance_tests!`](crate::conformance_tests) or in one go with
//! [`run_all`]:
//!
//! ```
//! # #![allow(clippy::unwrap_used)]
//! // In a test file of the backend, e.g. `tests/sqlite_conformance.rs`:
//! mod conformance {
//!     use tresor_store::SqliteStore;
//!
//!     fn with_store(case: fn(&SqliteStore)) {
//!         let dir = tempfile::tempdir().unwrap();
//!         case(&SqliteStore::open(&dir.path().join("tresor.db")).unwrap());
//!     }
//!
//!     tresor_store::conformance_tests!(SqliteStore, with_store);
//! }
//! # fn main() {}
//! ```
//!
//! The cases check only what the trait promises, so any backend (SQLite, PostgreSQL, an
//! in-memory fake for other crates' tests) can be held to the same behaviour. Where the trait
//! text leaves a choice open, the case documents the behaviour every backend must pick.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod atomic;
mod audit;
mod concurrency;
mod create;
mod fixtures;
mod gateway;
mod gateway_budget;
mod identity;
mod keys;
mod kms;
mod lifecycle;
mod reopen;
mod reseal;
mod rotation;
mod transfer;
mod transfer_gateway;
mod transfer_rotation;
mod update;

pub use atomic::*;
pub use audit::*;
pub use concurrency::*;
pub use create::*;
pub use fixtures::scope;
pub use gateway::*;
pub use gateway_budget::*;
pub use identity::*;
pub use keys::*;
pub use kms::*;
pub use lifecycle::*;
pub use reopen::*;
pub use reseal::*;
pub use rotation::*;
pub use transfer::*;
pub use transfer_gateway::*;
pub use transfer_rotation::*;
pub use update::*;

use crate::{AuditStore, GatewayStore, IdentityStore, KmsStore, RotationStore, Store};

/// What a backend implements, and the suite checks: all six store traits.
pub trait FullStore:
    Store + IdentityStore + AuditStore + GatewayStore + RotationStore + KmsStore
{
}

impl<S: Store + IdentityStore + AuditStore + GatewayStore + RotationStore + KmsStore> FullStore
    for S
{
}

/// One conformance case: it gets a fresh, empty store.
pub type Case<S> = fn(&S);

/// Every case, by name. Keep in step with [`conformance_tests!`](crate::conformance_tests)
/// (its generated `case_list_is_complete` test checks that).
pub fn cases<S: FullStore>() -> Vec<(&'static str, Case<S>)> {
    vec![
        (
            "meta_init_is_all_or_nothing",
            meta_init_is_all_or_nothing::<S>,
        ),
        (
            "meta_replace_is_compare_and_swap",
            meta_replace_is_compare_and_swap::<S>,
        ),
        ("access_keys_round_trip", access_keys_round_trip::<S>),
        ("access_key_ids_are_unique", access_key_ids_are_unique::<S>),
        (
            "kms_keys_by_id_and_alias_per_scope",
            kms_keys_by_id_and_alias_per_scope::<S>,
        ),
        (
            "kms_key_ids_and_aliases_are_unique",
            kms_key_ids_and_aliases_are_unique::<S>,
        ),
        (
            "kms_key_metadata_round_trip",
            kms_key_metadata_round_trip::<S>,
        ),
        (
            "kms_key_versions_are_unique",
            kms_key_versions_are_unique::<S>,
        ),
        ("kms_aliases_name_keys", kms_aliases_name_keys::<S>),
        ("kms_keys_list_and_destroy", kms_keys_list_and_destroy::<S>),
        (
            "kms_keys_due_for_destruction_across_scopes",
            kms_keys_due_for_destruction_across_scopes::<S>,
        ),
        ("create_and_find_secret", create_and_find_secret::<S>),
        (
            "secret_names_are_per_scope",
            secret_names_are_per_scope::<S>,
        ),
        ("create_reports_taken_name", create_reports_taken_name::<S>),
        ("create_rejects_taken_arn", create_rejects_taken_arn::<S>),
        ("read_envelope_by_version", read_envelope_by_version::<S>),
        ("update_writes_metadata", update_writes_metadata::<S>),
        (
            "update_adds_removes_and_restages_versions",
            update_adds_removes_and_restages_versions::<S>,
        ),
        (
            "update_failing_closure_writes_nothing",
            update_failing_closure_writes_nothing::<S>,
        ),
        (
            "update_missing_secret_is_not_found",
            update_missing_secret_is_not_found::<S>,
        ),
        ("update_keeps_identity", update_keeps_identity::<S>),
        (
            "reseal_replaces_envelope_and_key",
            reseal_replaces_envelope_and_key::<S>,
        ),
        ("reseal_inside_add_version", reseal_inside_add_version::<S>),
        (
            "add_version_loads_labelled_versions_only",
            add_version_loads_labelled_versions_only::<S>,
        ),
        (
            "add_version_prunes_old_unlabelled_versions",
            add_version_prunes_old_unlabelled_versions::<S>,
        ),
        ("find_labelled_versions", find_labelled_versions::<S>),
        (
            "find_secret_value_reads_the_picked_version",
            find_secret_value_reads_the_picked_version::<S>,
        ),
        ("touch_records_access", touch_records_access::<S>),
        ("purge_removes_everything", purge_removes_everything::<S>),
        ("list_orders_and_paginates", list_orders_and_paginates::<S>),
        (
            "list_is_scoped_and_complete",
            list_is_scoped_and_complete::<S>,
        ),
        ("list_in_every_order", list_in_every_order::<S>),
        (
            "expired_deletions_by_purge_time",
            expired_deletions_by_purge_time::<S>,
        ),
        (
            "concurrent_updates_serialize",
            concurrent_updates_serialize::<S>,
        ),
        ("users_round_trip", users_round_trip::<S>),
        (
            "user_names_are_unique_case_insensitively",
            user_names_are_unique_case_insensitively::<S>,
        ),
        (
            "user_access_keys_list_status_delete",
            user_access_keys_list_status_delete::<S>,
        ),
        (
            "delete_user_conflicts_while_in_use",
            delete_user_conflicts_while_in_use::<S>,
        ),
        (
            "sessions_round_trip_purge_and_cascade",
            sessions_round_trip_purge_and_cascade::<S>,
        ),
        (
            "session_keys_are_not_user_keys",
            session_keys_are_not_user_keys::<S>,
        ),
        ("roles_round_trip", roles_round_trip::<S>),
        (
            "inline_policies_of_users_and_roles",
            inline_policies_of_users_and_roles::<S>,
        ),
        (
            "managed_policies_and_versions",
            managed_policies_and_versions::<S>,
        ),
        ("policy_attachments", policy_attachments::<S>),
        (
            "principal_policies_gather_inline_and_attached",
            principal_policies_gather_inline_and_attached::<S>,
        ),
        (
            "audit_appends_contiguous_batches",
            audit_appends_contiguous_batches::<S>,
        ),
        (
            "audit_rejects_broken_chains",
            audit_rejects_broken_chains::<S>,
        ),
        ("audit_read_ranges", audit_read_ranges::<S>),
        ("audit_lookup_by_attribute", audit_lookup_by_attribute::<S>),
        (
            "audit_indexing_goes_in_batches",
            audit_indexing_goes_in_batches::<S>,
        ),
        (
            "audit_lookup_time_range_and_paging",
            audit_lookup_time_range_and_paging::<S>,
        ),
        (
            "audit_checkpoints_round_trip",
            audit_checkpoints_round_trip::<S>,
        ),
        (
            "concurrent_audit_appends_stay_chained",
            concurrent_audit_appends_stay_chained::<S>,
        ),
        (
            "atomically_commits_everything",
            atomically_commits_everything::<S>,
        ),
        (
            "atomically_rolls_back_on_error",
            atomically_rolls_back_on_error::<S>,
        ),
        (
            "atomically_survives_a_failed_inner_write",
            atomically_survives_a_failed_inner_write::<S>,
        ),
        (
            "audit_append_with_links_to_the_current_head",
            audit_append_with_links_to_the_current_head::<S>,
        ),
        (
            "reading_sees_committed_state_and_ends_cleanly",
            reading_sees_committed_state_and_ends_cleanly::<S>,
        ),
        (
            "gateway_routes_round_trip_and_conflict",
            gateway_routes_round_trip_and_conflict::<S>,
        ),
        (
            "gateway_routes_refuse_bad_input",
            gateway_routes_refuse_bad_input::<S>,
        ),
        (
            "gateway_keys_round_trip_and_lookups",
            gateway_keys_round_trip_and_lookups::<S>,
        ),
        (
            "gateway_keys_refuse_bad_input",
            gateway_keys_refuse_bad_input::<S>,
        ),
        (
            "gateway_prices_put_replace_list_delete",
            gateway_prices_put_replace_list_delete::<S>,
        ),
        (
            "gateway_principal_budgets_put_replace_list_delete",
            gateway_principal_budgets_put_replace_list_delete::<S>,
        ),
        (
            "gateway_reserve_admits_up_to_the_cap",
            gateway_reserve_admits_up_to_the_cap::<S>,
        ),
        (
            "gateway_reserve_refuses_bad_input",
            gateway_reserve_refuses_bad_input::<S>,
        ),
        (
            "gateway_holds_expire_with_their_lease",
            gateway_holds_expire_with_their_lease::<S>,
        ),
        (
            "gateway_settle_moves_held_to_spent_once",
            gateway_settle_moves_held_to_spent_once::<S>,
        ),
        (
            "gateway_rate_limits_refuse_until_the_minute_ends",
            gateway_rate_limits_refuse_until_the_minute_ends::<S>,
        ),
        (
            "gateway_usage_per_scope_and_period",
            gateway_usage_per_scope_and_period::<S>,
        ),
        (
            "gateway_key_delete_forgets_its_budget_and_rates",
            gateway_key_delete_forgets_its_budget_and_rates::<S>,
        ),
        (
            "gateway_concurrent_reserves_fit_the_budget",
            gateway_concurrent_reserves_fit_the_budget::<S>,
        ),
        (
            "rotators_round_trip_and_conflict",
            rotators_round_trip_and_conflict::<S>,
        ),
        ("rotators_refuse_bad_input", rotators_refuse_bad_input::<S>),
        (
            "rotator_logs_newest_first_and_by_secret",
            rotator_logs_newest_first_and_by_secret::<S>,
        ),
        (
            "rotator_logs_keep_the_newest",
            rotator_logs_keep_the_newest::<S>,
        ),
        (
            "rotator_delete_removes_its_logs",
            rotator_delete_removes_its_logs::<S>,
        ),
        (
            "concurrent_rotator_creates_one_wins",
            concurrent_rotator_creates_one_wins::<S>,
        ),
        (
            "rotating_secrets_lists_rotation_not_deleted",
            rotating_secrets_lists_rotation_not_deleted::<S>,
        ),
        (
            "rotation_writes_join_atomically",
            rotation_writes_join_atomically::<S>,
        ),
    ]
}

/// Run every case, each on a store from `make`. Panics naming the first case that fails.
pub fn run_all<S: FullStore>(make: impl Fn() -> S) {
    for (name, case) in cases::<S>() {
        eprintln!("store conformance: {name}");
        let store = make();
        case(&store);
    }
}

/// One `#[test]` per conformance case. `$store` is the store type; `$with_store` is a function
/// (or closure) `fn(fn(&$store))` that builds a fresh store, runs the case on it, and then
/// cleans up. Invoke it inside a module of its own, as the generated names are the case names.
#[macro_export]
macro_rules! conformance_tests {
    ($store:ty, $with_store:expr) => {
        $crate::__conformance_tests!(
            $store,
            $with_store;
            meta_init_is_all_or_nothing,
            meta_replace_is_compare_and_swap,
            access_keys_round_trip,
            access_key_ids_are_unique,
            kms_keys_by_id_and_alias_per_scope,
            kms_key_ids_and_aliases_are_unique,
            kms_key_metadata_round_trip,
            kms_key_versions_are_unique,
            kms_aliases_name_keys,
            kms_keys_list_and_destroy,
            kms_keys_due_for_destruction_across_scopes,
            create_and_find_secret,
            secret_names_are_per_scope,
            create_reports_taken_name,
            create_rejects_taken_arn,
            read_envelope_by_version,
            update_writes_metadata,
            update_adds_removes_and_restages_versions,
            update_failing_closure_writes_nothing,
            update_missing_secret_is_not_found,
            update_keeps_identity,
            reseal_replaces_envelope_and_key,
            reseal_inside_add_version,
            add_version_loads_labelled_versions_only,
            add_version_prunes_old_unlabelled_versions,
            find_labelled_versions,
            find_secret_value_reads_the_picked_version,
            touch_records_access,
            purge_removes_everything,
            list_orders_and_paginates,
            list_is_scoped_and_complete,
            list_in_every_order,
            expired_deletions_by_purge_time,
            concurrent_updates_serialize,
            users_round_trip,
            user_names_are_unique_case_insensitively,
            user_access_keys_list_status_delete,
            delete_user_conflicts_while_in_use,
            sessions_round_trip_purge_and_cascade,
            session_keys_are_not_user_keys,
            roles_round_trip,
            inline_policies_of_users_and_roles,
            managed_policies_and_versions,
            policy_attachments,
            principal_policies_gather_inline_and_attached,
            audit_appends_contiguous_batches,
            audit_rejects_broken_chains,
            audit_read_ranges,
            audit_lookup_by_attribute,
            audit_indexing_goes_in_batches,
            audit_lookup_time_range_and_paging,
            audit_checkpoints_round_trip,
            concurrent_audit_appends_stay_chained,
            atomically_commits_everything,
            atomically_rolls_back_on_error,
            atomically_survives_a_failed_inner_write,
            audit_append_with_links_to_the_current_head,
            reading_sees_committed_state_and_ends_cleanly,
            gateway_routes_round_trip_and_conflict,
            gateway_routes_refuse_bad_input,
            gateway_keys_round_trip_and_lookups,
            gateway_keys_refuse_bad_input,
            gateway_prices_put_replace_list_delete,
            gateway_principal_budgets_put_replace_list_delete,
            gateway_reserve_admits_up_to_the_cap,
            gateway_reserve_refuses_bad_input,
            gateway_holds_expire_with_their_lease,
            gateway_settle_moves_held_to_spent_once,
            gateway_rate_limits_refuse_until_the_minute_ends,
            gateway_usage_per_scope_and_period,
            gateway_key_delete_forgets_its_budget_and_rates,
            gateway_concurrent_reserves_fit_the_budget,
            rotators_round_trip_and_conflict,
            rotators_refuse_bad_input,
            rotator_logs_newest_first_and_by_secret,
            rotator_logs_keep_the_newest,
            rotator_delete_removes_its_logs,
            concurrent_rotator_creates_one_wins,
            rotating_secrets_lists_rotation_not_deleted,
            rotation_writes_join_atomically,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($store:ty, $with_store:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                ($with_store)($crate::conformance::$case::<$store> as fn(&$store));
            }
        )*

        #[test]
        fn case_list_is_complete() {
            let generated: ::std::vec::Vec<&str> = ::std::vec![$(stringify!($case)),*];
            let listed: ::std::vec::Vec<&str> = $crate::conformance::cases::<$store>()
                .into_iter()
                .map(|(name, _)| name)
                .collect();
            assert_eq!(generated, listed);
        }
    };
}
