//! Who may do what: principals, API tokens and their scopes, tiers, actions, MFA, and the
//! Cedar policy engine that makes every authorization decision.
//!
//! This crate decides; it does not look anything up or read files. Token records and
//! principals come from the store, policy texts from the caller, the request facts from the
//! server. Authorization returns a value, never a `Result`, so an error can never grant.

mod corpus;
mod decision;
mod engine;
mod entities;
mod load;
mod mfa;
mod scope;
mod slice;
mod token;

pub use corpus::{CaseResult, CorpusCase, Expectation, parse_corpus, run_corpus};
pub use covault_scan::{Tier, TierParseError};
pub use decision::{
    Action, Decision, Denial, Permit, Principal, PrincipalKind, RequestFacts, Resource,
};
pub use engine::{BUILTIN_ROLES, Explanation, PolicyEngine};
pub use ipnet::IpNet;
pub use load::{
    BUILTIN_SOURCE, EngineOptions, PolicyEffect, PolicyError, PolicyInfo, PolicySource,
    SourceLocation, builtin_policies_text, schema_text,
};
pub use mfa::{
    Enrollment, MfaError, RECOVERY_CODE_COUNT, RecoveryCodes, TOTP_STEP_S, TotpSecret, enroll,
    match_recovery_code, qr_terminal, verify_totp,
};
pub use scope::{MAX_SCOPE_ENTRIES, ScopeError, TokenScope, client_ip, parse_network};
pub use token::{IssuedToken, PresentedToken, SESSION_PREFIX, TokenError, TokenHash, TokenId};
