//! What tests of the store and of the crates above it share (feature `testkit`): the
//! PostgreSQL test server and its throwaway databases ([`postgres`]). The conformance suite
//! every backend must pass is [`crate::conformance`], behind the same feature.

pub mod postgres;
