//! Who may do what: principals, API tokens, tiers, actions and authorization decisions.
//!
//! This crate decides; it does not look anything up. Token records come from the store, the
//! request context from the server. The foundation policy is "an authenticated, enabled
//! principal may act"; the Cedar engine replaces [`authorize`]'s body without changing its
//! signature. Authorization returns a value, never a `Result`, so an error can never grant.

mod decision;
mod token;

pub use covault_scan::{Tier, TierParseError};
pub use decision::{Action, Decision, Permit, Principal, PrincipalKind, Resource, authorize};
pub use token::{IssuedToken, PresentedToken, TokenError, TokenHash, TokenId};
