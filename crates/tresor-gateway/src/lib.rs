//! The AI gateway: `/gateway/<route>/…` calls from applications pass through to OpenAI- and
//! Anthropic-style providers with the provider key added on the way out, so the application
//! never holds it.
//!
//! Data path of one call: the server hands the request here; the caller's gateway key (a
//! `tgk_…` token, in `Authorization: Bearer` or `x-api-key`) is checked by the core (MAC lookup,
//! expiry, status), which also authorizes `gateway:Invoke` on the route's ARN with the IAM
//! policy engine and reserves the call's estimated cost in the store ([`wire`] reads the
//! model, `max_tokens` and an input estimate from the body; [`prices`] turns tokens into
//! USD). The request goes upstream with the credential headers replaced; the response comes
//! back as it arrives (SSE streams chunk by chunk), metered by [`wire`]; when it ends, the
//! reservation is settled from the reported usage and the call's audit record is made
//! durable before the response completes.

pub mod prices;
pub mod wire;
