//! The one error type of `covault-sso`.
//!
//! Every message is one lowercase line that says what went wrong and, where the user can do
//! something, what to do next. No message carries an authorization code, a token, a PKCE
//! verifier, a nonce or a provider response body: errors from `openidconnect` are reduced to
//! their safe parts (an OAuth error code, a JSON path, a status) before they land here, so an
//! `{:?}` of an `SsoError` in a log is safe too.

use std::time::Duration;

/// Why an OpenID Connect login could not be set up, started or completed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SsoError {
    /// A configured URL does not parse or has a part it must not have.
    #[error("invalid {what} `{url}`: {reason}")]
    InvalidUrl {
        what: &'static str,
        url: String,
        reason: &'static str,
    },
    /// A configured or discovered URL uses plain http for a host that is not loopback.
    #[error(
        "{what} `{url}` must use https (plain http is allowed only for loopback addresses such as 127.0.0.1)"
    )]
    InsecureUrl { what: &'static str, url: String },
    /// A required setting is empty.
    #[error("the SSO setting `{setting}` must not be empty")]
    EmptySetting { setting: &'static str },
    /// Fetching or checking the provider's discovery document or key set failed.
    #[error("could not discover the OpenID provider `{issuer}`: {reason}")]
    Discovery { issuer: String, reason: String },
    /// The provider publishes no token endpoint, so the code flow cannot finish.
    #[error(
        "the OpenID provider `{issuer}` publishes no token endpoint, which the authorization code flow needs"
    )]
    NoTokenEndpoint { issuer: String },
    /// The provider lists its PKCE methods and S256 is not among them.
    #[error(
        "the OpenID provider `{issuer}` does not support PKCE with S256, which covault requires"
    )]
    PkceUnsupported { issuer: String },
    /// The pending login was started against another provider.
    #[error("this login was started with another OpenID provider; start the login again")]
    PendingWrongIssuer,
    /// The pending login is older than the allowed age.
    #[error("this login expired (it is older than {} minutes); start the login again", max_age.as_secs() / 60)]
    PendingExpired { max_age: Duration },
    /// The pending login's start time lies in the future.
    #[error(
        "this login claims to start in the future; check the server clock and start the login again"
    )]
    PendingFromFuture,
    /// The `state` returned by the provider is not the one the login was started with.
    #[error("the returned login state does not match this login; start the login again")]
    StateMismatch,
    /// The callback carried no authorization code.
    #[error("the provider returned an empty authorization code; start the login again")]
    EmptyCode,
    /// The token endpoint answered with an OAuth error (an expired, replayed or foreign code, a
    /// wrong PKCE verifier, a wrong client secret).
    #[error("the OpenID provider refused the login ({error}); start the login again")]
    CodeRejected { error: String },
    /// The token request failed for another reason (network, unparseable answer).
    #[error("the token request to the OpenID provider failed: {reason}")]
    TokenRequest { reason: String },
    /// The token response has no ID token.
    #[error(
        "the OpenID provider returned no ID token; check that the client may use the `openid` scope"
    )]
    MissingIdToken,
    /// The ID token failed verification (signature, issuer, audience, expiry or nonce).
    #[error("the ID token is not valid: {reason}")]
    InvalidIdToken { reason: String },
    /// The access token does not match the ID token's `at_hash` claim.
    #[error("the access token does not match the ID token's `at_hash` claim")]
    AccessTokenHashMismatch,
    /// The userinfo request failed.
    #[error("the userinfo request to the OpenID provider failed: {reason}")]
    UserInfo { reason: String },
    /// A claim used for groups is neither a string nor a list of strings.
    #[error("the claim `{claim}` is not a string or a list of strings; check `groups_claim`")]
    InvalidClaim { claim: String },
    /// Sign-in is limited to email domains and the identity has no email address.
    #[error(
        "this identity has no email address, but sign-in is limited to some email domains; ask the provider's administrator to release the `email` claim"
    )]
    MissingEmail,
    /// The provider says the email address is not verified.
    #[error("this identity's email address is not verified by the OpenID provider")]
    EmailNotVerified,
    /// The email address's domain is not in the allowed list.
    #[error("the email domain `{domain}` may not sign in to covault")]
    EmailDomainNotAllowed { domain: String },
    /// No group of the identity maps to a covault role and there is no default role.
    #[error(
        "no covault role for this identity; ask an administrator to map one of its groups to a role or to set a default role"
    )]
    NoRole,
}

/// Renders an error and its sources as one line, for errors whose messages are known to hold no
/// secrets (callers pick which).
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
