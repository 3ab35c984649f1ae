//! [`Caller`]: an authenticated principal plus the context of its request. Only the vault can
//! make one, so holding a `Caller` is proof that authentication ran.

use covault_policy::{Principal, TokenId};

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
    /// The same caller with another request's context (e.g. the operator reused in a loop).
    pub fn with_context(&self, context: RequestContext) -> Self {
        Self {
            context,
            ..self.clone()
        }
    }
}
