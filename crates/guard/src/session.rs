//! Browser sessions and single sign-on: provisioning an identity an OpenID provider vouched
//! for (linked by issuer and subject, never by a matching local name), starting a session
//! (cookie secret and CSRF token, both stored hashed), authenticating requests that carry one
//! (idle and absolute timeouts, CSRF on every state-changing request), logout, and the API
//! token `covault login` receives.

use covault_audit::{Outcome, now_ms};
use covault_policy::{
    Action, IssuedToken, PresentedToken, Principal, PrincipalKind, Resource, SESSION_PREFIX,
    TokenHash,
};
use covault_store::{SessionRecord, StoreError};
use secrecy::{ExposeSecret, SecretString};

use crate::identity::{check_name, token_record};
use crate::vault::base_event;
use crate::{Caller, GuardError, PrincipalInfo, RequestContext, TokenInfo, Vault};

/// How often (at most) a session's last-seen time is written.
const TOUCH_INTERVAL_MS: i64 = 60_000;

/// What an OpenID provider asserted (see `covault-sso`), with roles already mapped.
#[derive(Clone, Debug)]
pub struct ExternalIdentity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub name: Option<String>,
    /// Mapped covault roles, most important first; the first becomes the principal's role.
    pub roles: Vec<String>,
}

/// A session just started: the cookie and CSRF values are shown to the browser once.
pub struct NewSession {
    pub session_id: String,
    pub cookie: SecretString,
    pub csrf: SecretString,
    pub principal: PrincipalInfo,
    pub expires_at_ms: i64,
}

fn csrf_hash(csrf: &SecretString) -> TokenHash {
    TokenHash::from_bytes(covault_crypto::sha256(csrf.expose_secret().as_bytes()))
}

/// 256 random bits as hex: one-time codes (e.g. `covault login`'s loopback code).
pub fn random_hex32() -> Result<SecretString, GuardError> {
    Ok(SecretString::from(hex::encode(
        covault_crypto::random_array::<32>().map_err(StoreError::from)?,
    )))
}

impl Vault {
    /// The principal linked to `identity`, provisioned on its first login. A local principal
    /// that merely has the same name is never taken over.
    async fn provision(
        &self,
        identity: &ExternalIdentity,
        context: &RequestContext,
    ) -> Result<Principal, GuardError> {
        let role = identity
            .roles
            .first()
            .ok_or_else(|| GuardError::Forbidden("no covault role for this identity".into()))?
            .clone();
        self.check_role(&role)?;
        let sessions = self.ws.sessions();
        let at_ms = now_ms();
        let id = match sessions
            .external_identity(&identity.issuer, &identity.subject)
            .await?
        {
            Some(id) => {
                sessions
                    .external_login(&identity.issuer, &identity.subject, Some(&role), at_ms)
                    .await?;
                id
            }
            None => {
                let name = identity
                    .email
                    .clone()
                    .unwrap_or_else(|| format!("sso-{}", identity.subject));
                check_name("SSO principal name", &name)?;
                if self.ws.identity().principal(&name).await?.is_some() {
                    return Err(StoreError::Conflict(format!(
                        "a principal named `{name}` already exists and is not linked to this identity provider: covault never links SSO identities to local accounts by name"
                    ))
                    .into());
                }
                let principal = Principal {
                    id: format!(
                        "usr_{}",
                        &covault_crypto::random_id().map_err(StoreError::from)?[..16]
                    ),
                    name,
                    kind: PrincipalKind::User,
                    role,
                    enabled: true,
                    groups: Vec::new(),
                    group_roles: Vec::new(),
                    mfa_enrolled: false,
                };
                let operator = crate::vault::operator_caller().with_context(context.clone());
                let mut event = base_event(&operator, Action::PrincipalCreate, None);
                event.reason = "provisioned on first single sign-on".into();
                event.detail = serde_json::json!({
                    "principal": principal.id, "role": principal.role, "issuer": identity.issuer,
                });
                sessions
                    .link_external_identity(
                        &identity.issuer,
                        &identity.subject,
                        identity.email.as_deref(),
                        &principal,
                        true,
                        &event,
                    )
                    .await?;
                principal.id
            }
        };
        let record = self
            .ws
            .identity()
            .principal(&id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("linked principal is missing".into()))?;
        if !record.principal.enabled {
            return Err(GuardError::Forbidden("this account is disabled".into()));
        }
        Ok(record.principal)
    }

    /// Starts a browser session for an identity the OpenID provider vouched for.
    pub async fn sso_session(
        &self,
        identity: &ExternalIdentity,
        context: RequestContext,
    ) -> Result<NewSession, GuardError> {
        let principal = self.provision(identity, &context).await?;
        let issued = IssuedToken::generate_with_prefix(SESSION_PREFIX).map_err(StoreError::from)?;
        let csrf = random_hex32()?;
        let at_ms = now_ms();
        let expires_at_ms = at_ms.saturating_add(self.access.options.session_absolute_ms);
        let record = SessionRecord {
            id: issued.id.clone(),
            hash: issued.hash.clone(),
            csrf_hash: csrf_hash(&csrf),
            principal_id: principal.id.clone(),
            created_at_ms: at_ms,
            last_seen_at_ms: at_ms,
            expires_at_ms,
            revoked_at_ms: None,
            remote_addr: context.remote_addr.clone(),
            user_agent: context.user_agent.clone(),
        };
        let caller = Caller {
            principal: principal.clone(),
            token_id: None,
            scope: None,
            mfa: false,
            token_expires_at_ms: None,
            context: RequestContext {
                session_id: Some(issued.id.to_string()),
                ..context
            },
        };
        let mut event = base_event(&caller, Action::Authenticate, None);
        event.reason = "single sign-on: session started".into();
        event.detail =
            serde_json::json!({ "issuer": identity.issuer, "expires_at_ms": expires_at_ms });
        self.ws.sessions().insert_session(&record, &event).await?;
        Ok(NewSession {
            session_id: issued.id.to_string(),
            cookie: issued.text,
            csrf,
            principal: PrincipalInfo::new(&principal, None),
            expires_at_ms,
        })
    }

    /// Issues the API token `covault login` hands to the CLI: the identity's own token,
    /// created through policy like any self-service token.
    pub async fn sso_token(
        &self,
        identity: &ExternalIdentity,
        context: RequestContext,
    ) -> Result<(TokenInfo, SecretString), GuardError> {
        let principal = self.provision(identity, &context).await?;
        let caller = Caller {
            principal,
            token_id: None,
            scope: None,
            mfa: false,
            token_expires_at_ms: None,
            context,
        };
        let at_ms = now_ms();
        let expires_at_ms = at_ms.saturating_add(self.access.options.login_token_ttl_ms);
        let owner = caller.principal.id.clone();
        self.guarded(
            &caller,
            Action::TokenCreate,
            Resource::Principal { id: owner.clone() },
            None,
            |mut event| async move {
                let issued = IssuedToken::generate().map_err(StoreError::from)?;
                let record =
                    token_record(&issued, &owner, "covault login (SSO)", at_ms, expires_at_ms);
                event.detail = serde_json::json!({
                    "token_id": record.id.to_string(), "owner": owner, "sso": true,
                    "expires_at_ms": expires_at_ms,
                });
                self.ws.identity().insert_token(&record, &event).await?;
                Ok((TokenInfo::new(&record, at_ms), issued.text))
            },
        )
        .await
    }

    /// Authenticates a request by its session cookie. A state-changing request must carry the
    /// session's CSRF token. Failures are audited like token failures and get a 401 (a CSRF
    /// failure a 403).
    pub async fn authenticate_session(
        &self,
        cookie: &SecretString,
        csrf: Option<&SecretString>,
        state_changing: bool,
        otp: Option<&SecretString>,
        context: RequestContext,
    ) -> Result<Caller, GuardError> {
        const INVALID: &str = "the session is not valid: sign in again";
        let mut caller = Caller {
            principal: Principal {
                id: String::new(),
                name: String::new(),
                kind: PrincipalKind::User,
                role: String::new(),
                enabled: false,
                groups: Vec::new(),
                group_roles: Vec::new(),
                mfa_enrolled: false,
            },
            token_id: None,
            scope: None,
            mfa: false,
            token_expires_at_ms: None,
            context,
        };
        let Ok(presented) = PresentedToken::parse_with_prefix(cookie, SESSION_PREFIX) else {
            return Err(self
                .deny_authentication(&caller, None, "malformed session cookie", INVALID)
                .await);
        };
        caller.context.session_id = Some(presented.id.to_string());
        let Some((record, principal)) = self.ws.sessions().session(&presented.id).await? else {
            return Err(self
                .deny_authentication(&caller, None, "unknown session", INVALID)
                .await);
        };
        if !record.hash.matches(&presented.hash) {
            return Err(self
                .deny_authentication(&caller, None, "wrong session secret", INVALID)
                .await);
        }
        caller.principal = principal;
        let at_ms = now_ms();
        let idle = self.access.options.session_idle_ms;
        let refusal = if record.revoked_at_ms.is_some() {
            Some(("session ended", "the session has ended: sign in again"))
        } else if record.expires_at_ms <= at_ms {
            Some(("session expired", "the session has expired: sign in again"))
        } else if record.last_seen_at_ms.saturating_add(idle) <= at_ms {
            Some(("session idle", "the session timed out: sign in again"))
        } else if !caller.principal.enabled {
            Some(("principal disabled", "this account is disabled"))
        } else {
            None
        };
        if let Some((reason, message)) = refusal {
            return Err(self
                .deny_authentication(&caller, None, reason, message)
                .await);
        }
        if state_changing {
            let ok = csrf.is_some_and(|c| record.csrf_hash.matches(&csrf_hash(c)));
            if !ok {
                let mut event = base_event(&caller, Action::Authenticate, None);
                event.outcome = Outcome::Denied;
                event.reason = "missing or wrong CSRF token".into();
                self.ws.append_audit(&event).await?;
                return Err(GuardError::Forbidden(
                    "a state-changing request with a session cookie needs the X-CSRF-Token header"
                        .into(),
                ));
            }
        }
        if let Some(code) = otp {
            match self.verify_second_factor(&caller.principal, code).await? {
                Ok(()) => caller.mfa = true,
                Err(reason) => {
                    return Err(self
                        .deny_authentication(
                            &caller,
                            None,
                            reason,
                            "the one-time code is not valid",
                        )
                        .await);
                }
            }
        }
        if at_ms - record.last_seen_at_ms >= TOUCH_INTERVAL_MS
            && let Err(e) = self.ws.sessions().touch_session(&record.id, at_ms).await
        {
            tracing::warn!(error = %e, "could not record session use");
        }
        Ok(caller)
    }

    /// Ends the caller's session.
    pub async fn logout(&self, caller: &Caller) -> Result<(), GuardError> {
        let Some(id) = caller.context.session_id.clone() else {
            return Err(GuardError::BadRequest(
                "this request has no session: API tokens are revoked with `covault token revoke`"
                    .into(),
            ));
        };
        let mut event = base_event(caller, Action::Authenticate, None);
        event.action = "logout".into();
        let id = covault_policy::TokenId::from_stored(id);
        self.ws
            .sessions()
            .revoke_session(&id, event.at_ms, &event)
            .await?;
        Ok(())
    }
}
