//! OpenID Connect single sign-on for covault: a relying party for the authorization code flow
//! with PKCE, over covault's own reqwest.
//!
//! What it owns: provider discovery ([`OidcClient::discover`]), the authorization URL and the
//! state a login carries ([`OidcClient::begin`], [`PendingLogin`]), and the code exchange with
//! every check a relying party must make, ending in an [`SsoIdentity`] whose groups are mapped to
//! covault roles ([`OidcClient::complete`]).
//!
//! What it does not do: serve HTTP routes, keep sessions or cookies, encrypt the pending login,
//! or decide what a role may do. The server wires `begin`/`complete` to its routes and keeps the
//! [`PendingLogin`] in memory or in an encrypted cookie; policy turns roles into permissions.
//!
//! A native/CLI login (`covault login`) is the same flow with a loopback redirect URL, e.g.
//! `http://127.0.0.1:<port>/callback` on a listener the CLI binds itself; see [`OidcConfig`].

mod client;
mod config;
mod error;
mod http;
mod identity;
mod pending;
#[cfg(feature = "test-idp")]
pub mod testing;

pub use client::OidcClient;
pub use config::{DEFAULT_GROUPS_CLAIM, DEFAULT_SCOPES, OidcConfig};
pub use error::SsoError;
pub use identity::SsoIdentity;
pub use openidconnect::url::Url;
pub use pending::{PENDING_LOGIN_FUTURE_SKEW, PENDING_LOGIN_MAX_AGE, PendingLogin};
