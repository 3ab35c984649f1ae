//! [`Caller`]: an authenticated principal plus the context of its request. Only the vault can
//! make one, so holding a `Caller` is proof that authentication ran.

use std::net::IpAddr;

use covault_policy::{Principal, TokenId, TokenScope};

/// Where a request came from; recorded in audit events.
#[derive(Clone, Debug, Default)]
pub struct RequestContext {
    pub request_id: Option<String>,
    pub remote_addr: Option<String>,
    pub user_agent: Option<String>,
    /// The browser session, for console requests.
    pub session_id: Option<String>,
    /// Ties together everything one prompt, agent task or workflow run caused.
    pub correlation_id: Option<String>,
}

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Caller {
    // INVARIANT: built only by `Vault::authenticate` or by unlocking the workspace.
    pub(crate) principal: Principal,
    pub(crate) token_id: Option<TokenId>,
    /// The token's scope, when it restricts anything.
    pub(crate) scope: Option<TokenScope>,
    /// The request proved a second factor.
    pub(crate) mfa: bool,
    /// When the presenting token expires (a token it mints or rotates may not outlive it).
    pub(crate) token_expires_at_ms: Option<i64>,
    pub(crate) context: RequestContext,
}

impl Caller {
    pub fn principal(&self) -> &Principal {
        &self.principal
    }
    pub fn token_id(&self) -> Option<&TokenId> {
        self.token_id.as_ref()
    }
    pub fn context(&self) -> &RequestContext {
        &self.context
    }
    pub fn scope(&self) -> Option<&TokenScope> {
        self.scope.as_ref()
    }
    /// Whether this request proved a second factor.
    pub fn has_mfa(&self) -> bool {
        self.mfa
    }
    /// The client address, as the server resolved it (through trusted proxies only).
    pub fn remote_ip(&self) -> Option<IpAddr> {
        self.context.remote_addr.as_deref()?.parse().ok()
    }
    /// The same caller with another request's context (e.g. the operator reused in a loop).
    pub fn with_context(&self, context: RequestContext) -> Self {
        Self {
            context,
            ..self.clone()
        }
    }
}
