//! Identity operations behind policy: principals, groups, API tokens (issue, list, revoke,
//! rotate with an overlap window), TOTP enrolment and reset, and access review. Each is
//! authorize → act → audit like every file operation; secrets are returned once, never stored
//! or audited in the clear.

use covault_audit::now_ms;
use covault_policy::{
    Action, BUILTIN_ROLES, IssuedToken, Principal, PrincipalKind, Resource, TokenId, TokenScope,
    enroll,
};
use covault_store::{PrincipalChange, PrincipalRecord, StoreError, TokenRecord};
use secrecy::{ExposeSecret, SecretString};

use crate::identity_dto::{
    AccessReview, GroupInfo, MfaEnrollmentInfo, NewToken, PrincipalDetail, ReviewFinding, TokenInfo,
};
use crate::{Caller, GuardError, NewPrincipal, PrincipalInfo, Vault};

const DAY_MS: i64 = 86_400_000;
/// Roles whose idle grants access review calls stale.
const ADMIN_ROLES: [&str; 2] = ["admin", "security-admin"];

fn bad(message: impl Into<String>) -> GuardError {
    GuardError::BadRequest(message.into())
}

/// 1 to 64 characters from `[A-Za-z0-9._@-]`, starting with a letter or digit.
pub(crate) fn check_name(what: &str, name: &str) -> Result<(), GuardError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(bad(format!(
            "invalid {what} `{}`: use 1 to 64 letters, digits, `.`, `_`, `@` or `-`",
            name.chars().take(64).collect::<String>()
        )))
    }
}

fn subject(id: &str) -> Resource {
    Resource::Principal { id: id.to_owned() }
}

impl Vault {
    /// A role a principal or group may be given: built in, or named by a loaded policy.
    pub(crate) fn check_role(&self, role: &str) -> Result<(), GuardError> {
        check_name("role", role)?;
        if role == "operator" {
            return Err(bad("the operator role cannot be granted"));
        }
        if BUILTIN_ROLES.contains(&role) || self.policy_engine().roles().iter().any(|r| r == role) {
            Ok(())
        } else {
            Err(bad(format!(
                "unknown role `{role}`: built-in roles are {}; custom roles must be named by a policy file",
                BUILTIN_ROLES.join(", ")
            )))
        }
    }

    /// The expiry of a token issued now for `expires_in_s`, within the configured bounds.
    fn token_expiry(&self, at_ms: i64, expires_in_s: Option<i64>) -> Result<i64, GuardError> {
        let options = &self.access.options;
        let ttl_ms = match expires_in_s {
            None => options.token_default_ttl_ms,
            Some(s) if s <= 0 => return Err(bad("a token's lifetime must be positive")),
            Some(s) => s.saturating_mul(1000),
        };
        if ttl_ms > options.token_max_ttl_ms {
            return Err(bad(format!(
                "a token may live at most {} days (auth.token_max_days)",
                options.token_max_ttl_ms / DAY_MS
            )));
        }
        Ok(at_ms.saturating_add(ttl_ms))
    }

    pub(crate) async fn find_principal(
        &self,
        id_or_name: &str,
    ) -> Result<PrincipalRecord, GuardError> {
        self.ws
            .identity()
            .principal(id_or_name)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("principal {id_or_name}")).into())
    }

    /// Creates a principal, optionally with an API token (returned once).
    pub async fn create_principal(
        &self,
        caller: &Caller,
        new: NewPrincipal,
    ) -> Result<(PrincipalInfo, Option<SecretString>), GuardError> {
        check_name("principal name", &new.name)?;
        self.check_role(&new.role)?;
        if new.kind == PrincipalKind::Operator {
            return Err(bad("operator principals cannot be created"));
        }
        let at_ms = now_ms();
        let expires_at_ms = match new.token_expires_at_ms {
            // An absolute expiry from an in-process caller; a past one makes a dead token.
            Some(Some(at)) if at <= at_ms => Some(at),
            Some(Some(at)) => Some(self.token_expiry(at_ms, Some((at - at_ms + 999) / 1000))?),
            Some(None) => Some(self.token_expiry(at_ms, None)?),
            None => None,
        };
        self.guarded(
            caller,
            Action::PrincipalCreate,
            covault_policy::Resource::Workspace,
            None,
            |mut event| async move {
                let prefix = match new.kind {
                    PrincipalKind::Service => "svc",
                    _ => "usr",
                };
                let principal = Principal {
                    id: format!(
                        "{prefix}_{}",
                        &covault_crypto::random_id().map_err(StoreError::from)?[..16]
                    ),
                    name: new.name,
                    kind: new.kind,
                    role: new.role,
                    enabled: true,
                    groups: Vec::new(),
                    group_roles: Vec::new(),
                    mfa_enrolled: false,
                };
                let issued = match expires_at_ms {
                    Some(at) => Some((IssuedToken::generate().map_err(StoreError::from)?, at)),
                    None => None,
                };
                let record = issued.as_ref().map(|(t, at)| {
                    token_record(
                        t,
                        &principal.id,
                        "created with the principal",
                        event.at_ms,
                        *at,
                    )
                });
                event.detail = serde_json::json!({
                    "principal": principal.id,
                    "role": principal.role,
                    "token_id": record.as_ref().map(|r| r.id.to_string()),
                });
                self.ws
                    .create_principal(&principal, record.as_ref(), &event)
                    .await?;
                let info = PrincipalInfo::new(&principal, record.map(|r| r.id.to_string()));
                Ok((info, issued.map(|(t, _)| t.text)))
            },
        )
        .await
    }

    /// Every principal.
    pub async fn principals(&self, caller: &Caller) -> Result<Vec<PrincipalDetail>, GuardError> {
        self.guarded(
            caller,
            Action::PrincipalList,
            Resource::Workspace,
            None,
            |mut event| async move {
                let all = self.ws.identity().principals().await?;
                event.detail = serde_json::json!({ "count": all.len() });
                self.ws.append_audit(&event).await?;
                Ok(all.iter().map(PrincipalDetail::new).collect())
            },
        )
        .await
    }

    /// One principal, by id or name.
    pub async fn principal(
        &self,
        caller: &Caller,
        id_or_name: &str,
    ) -> Result<PrincipalDetail, GuardError> {
        let found = self.find_principal(id_or_name).await?;
        self.guarded(
            caller,
            Action::PrincipalList,
            Resource::Workspace,
            None,
            |event| async move {
                self.ws.append_audit(&event).await?;
                Ok(PrincipalDetail::new(&found))
            },
        )
        .await
    }

    /// Changes a principal's role or enables / disables it.
    pub async fn update_principal(
        &self,
        caller: &Caller,
        id_or_name: &str,
        change: PrincipalChange,
    ) -> Result<PrincipalDetail, GuardError> {
        if let Some(role) = &change.role {
            self.check_role(role)?;
        }
        let found = self.find_principal(id_or_name).await?;
        let id = found.principal.id.clone();
        if found.principal.kind == PrincipalKind::Operator {
            return Err(bad("the local operator cannot be changed"));
        }
        self.guarded(
            caller,
            Action::PrincipalUpdate,
            subject(&id),
            None,
            |mut event| async move {
                event.detail = serde_json::json!({
                    "principal": id,
                    "role": { "from": found.principal.role, "to": change.role },
                    "enabled": { "from": found.principal.enabled, "to": change.enabled },
                });
                self.ws
                    .identity()
                    .update_principal(&id, &change, &event)
                    .await?;
                Ok(PrincipalDetail::new(&self.find_principal(&id).await?))
            },
        )
        .await
    }

    /// Every group.
    pub async fn groups(&self, caller: &Caller) -> Result<Vec<GroupInfo>, GuardError> {
        self.guarded(
            caller,
            Action::PrincipalList,
            Resource::Workspace,
            None,
            |event| async move {
                let groups = self.ws.identity().groups().await?;
                self.ws.append_audit(&event).await?;
                Ok(groups.iter().map(GroupInfo::new).collect())
            },
        )
        .await
    }

    /// Creates a group or replaces its description and roles.
    pub async fn put_group(
        &self,
        caller: &Caller,
        name: &str,
        description: &str,
        roles: Vec<String>,
    ) -> Result<(), GuardError> {
        check_name("group name", name)?;
        if description.len() > 512 {
            return Err(bad("a group description is at most 512 bytes"));
        }
        for role in &roles {
            self.check_role(role)?;
        }
        self.guarded(
            caller,
            Action::GroupManage,
            Resource::Workspace,
            None,
            |mut event| async move {
                event.detail = serde_json::json!({ "group": name, "roles": roles });
                Ok(self
                    .ws
                    .identity()
                    .put_group(name, description, &roles, &event)
                    .await?)
            },
        )
        .await
    }

    pub async fn delete_group(&self, caller: &Caller, name: &str) -> Result<(), GuardError> {
        self.guarded(
            caller,
            Action::GroupManage,
            Resource::Workspace,
            None,
            |mut event| async move {
                event.detail = serde_json::json!({ "group": name, "deleted": true });
                Ok(self.ws.identity().delete_group(name, &event).await?)
            },
        )
        .await
    }

    /// Adds a principal to a group, or removes it.
    pub async fn set_group_member(
        &self,
        caller: &Caller,
        group: &str,
        principal: &str,
        member: bool,
    ) -> Result<(), GuardError> {
        let found = self.find_principal(principal).await?;
        let id = found.principal.id;
        self.guarded(
            caller,
            Action::GroupManage,
            Resource::Workspace,
            None,
            |mut event| async move {
                event.detail =
                    serde_json::json!({ "group": group, "principal": id, "member": member });
                Ok(self
                    .ws
                    .identity()
                    .set_group_member(group, &id, member, &event)
                    .await?)
            },
        )
        .await
    }

    /// Issues a token for `owner` (the caller by default). The secret is returned once.
    pub async fn create_token(
        &self,
        caller: &Caller,
        owner: Option<&str>,
        new: NewToken,
    ) -> Result<(TokenInfo, SecretString), GuardError> {
        new.scope
            .validate()
            .map_err(|e| GuardError::BadRequest(e.to_string()))?;
        if new.description.len() > 256 || new.description.chars().any(char::is_control) {
            return Err(bad(
                "a token description is at most 256 printable characters",
            ));
        }
        let owner_id = match owner {
            Some(name) => self.find_principal(name).await?.principal.id,
            None => caller.principal.id.clone(),
        };
        if let Some(scope) = caller.scope()
            && !scope.contains(&new.scope)
        {
            return Err(GuardError::Forbidden(
                "a scoped token can only issue tokens within its own scope (actions, paths, tier, providers, models, addresses)".into(),
            ));
        }
        let at_ms = now_ms();
        let mut expires_at_ms = self.token_expiry(at_ms, new.expires_in_s)?;
        // A token never mints one that outlives it.
        if let Some(limit) = caller.token_expires_at_ms {
            expires_at_ms = expires_at_ms.min(limit);
        }
        self.guarded(
            caller,
            Action::TokenCreate,
            subject(&owner_id),
            None,
            |mut event| async move {
                let issued = IssuedToken::generate().map_err(StoreError::from)?;
                let mut record =
                    token_record(&issued, &owner_id, &new.description, at_ms, expires_at_ms);
                record.scope = new.scope;
                event.detail = serde_json::json!({
                    "token_id": record.id.to_string(),
                    "owner": owner_id,
                    "expires_at_ms": expires_at_ms,
                    "scoped": !record.scope.is_unrestricted(),
                });
                self.ws.identity().insert_token(&record, &event).await?;
                Ok((TokenInfo::new(&record, at_ms), issued.text))
            },
        )
        .await
    }

    /// Tokens of `owner` (the caller by default).
    pub async fn tokens(
        &self,
        caller: &Caller,
        owner: Option<&str>,
    ) -> Result<Vec<TokenInfo>, GuardError> {
        let owner_id = match owner {
            Some(name) => self.find_principal(name).await?.principal.id,
            None => caller.principal.id.clone(),
        };
        self.guarded(
            caller,
            Action::TokenList,
            subject(&owner_id),
            None,
            |mut event| async move {
                let tokens = self.ws.identity().tokens(Some(&owner_id)).await?;
                event.detail = serde_json::json!({ "owner": owner_id, "count": tokens.len() });
                self.ws.append_audit(&event).await?;
                let at_ms = now_ms();
                Ok(tokens.iter().map(|t| TokenInfo::new(t, at_ms)).collect())
            },
        )
        .await
    }

    async fn token_owner(&self, id: &str) -> Result<TokenRecord, GuardError> {
        let id = TokenId::from_stored(id.to_owned());
        self.ws
            .token(&id)
            .await?
            .map(|(t, _)| t)
            .ok_or_else(|| StoreError::NotFound(format!("token {id}")).into())
    }

    /// Revokes a token at once.
    pub async fn revoke_token(&self, caller: &Caller, token_id: &str) -> Result<(), GuardError> {
        let record = self.token_owner(token_id).await?;
        self.guarded(
            caller,
            Action::TokenRevoke,
            subject(&record.principal_id),
            None,
            |mut event| async move {
                event.detail = serde_json::json!({ "token_id": record.id.to_string() });
                if !self
                    .ws
                    .identity()
                    .revoke_token(&record.id, event.at_ms, &event)
                    .await?
                {
                    return Err(StoreError::Conflict(format!(
                        "token {} was already revoked",
                        record.id
                    ))
                    .into());
                }
                Ok(())
            },
        )
        .await
    }

    /// Replaces a token's secret: the new token (same owner, scope and description, a fresh
    /// lifetime) is returned once; the old secret keeps working for `overlap_s` (default
    /// configured), then dies.
    pub async fn rotate_token(
        &self,
        caller: &Caller,
        token_id: &str,
        overlap_s: Option<i64>,
    ) -> Result<(TokenInfo, SecretString), GuardError> {
        let old = self.token_owner(token_id).await?;
        let options = &self.access.options;
        let overlap_ms = match overlap_s {
            None => options.rotation_overlap_ms,
            Some(s) if s < 0 => return Err(bad("the overlap window cannot be negative")),
            Some(s) => s.saturating_mul(1000),
        };
        if overlap_ms > options.max_rotation_overlap_ms {
            return Err(bad(format!(
                "the overlap window is at most {} days",
                options.max_rotation_overlap_ms / DAY_MS
            )));
        }
        if let Some(scope) = caller.scope()
            && !scope.contains(&old.scope)
        {
            return Err(GuardError::Forbidden(
                "a scoped token can only rotate tokens within its own scope".into(),
            ));
        }
        let at_ms = now_ms();
        if old.expires_at_ms.is_some_and(|e| e <= at_ms) || old.revoked_at_ms.is_some() {
            return Err(StoreError::Conflict(format!(
                "token {} has expired or was revoked: issue a new one",
                old.id
            ))
            .into());
        }
        // The successor keeps the old token's lifetime (within the maximum), never longer.
        let lifetime_ms = old
            .expires_at_ms
            .map_or(options.token_max_ttl_ms, |e| e - old.created_at_ms)
            .clamp(1000, options.token_max_ttl_ms);
        let mut expires_at_ms = at_ms.saturating_add(lifetime_ms);
        if let Some(limit) = caller.token_expires_at_ms {
            expires_at_ms = expires_at_ms.min(limit);
        }
        self.guarded(
            caller,
            Action::TokenRotate,
            subject(&old.principal_id),
            None,
            |mut event| async move {
                let issued = IssuedToken::generate().map_err(StoreError::from)?;
                let mut record = token_record(
                    &issued,
                    &old.principal_id,
                    &old.description,
                    at_ms,
                    expires_at_ms,
                );
                record.scope = old.scope.clone();
                record.rotated_from = Some(old.id.clone());
                let old_until = at_ms.saturating_add(overlap_ms);
                event.detail = serde_json::json!({
                    "token_id": record.id.to_string(),
                    "rotated_from": old.id.to_string(),
                    "old_valid_until_ms": old_until,
                });
                self.ws
                    .identity()
                    .rotate_token(&old.id, old_until, &record, &event)
                    .await?;
                Ok((TokenInfo::new(&record, at_ms), issued.text))
            },
        )
        .await
    }

    /// Starts TOTP enrolment for the caller: the secret (as an otpauth URI and a QR code) is
    /// returned once, sealed in the store, and counts only after [`Vault::mfa_confirm`].
    pub async fn mfa_enroll(&self, caller: &Caller) -> Result<MfaEnrollmentInfo, GuardError> {
        refuse_scoped_enrolment(caller)?;
        let id = caller.principal.id.clone();
        self.guarded(
            caller,
            Action::MfaEnroll,
            subject(&id),
            None,
            |mut event| async move {
                let issuer = self.access.options.mfa_issuer.clone();
                let enrollment = enroll(&issuer, &caller.principal.name)
                    .map_err(|e| GuardError::BadRequest(e.to_string()))?;
                let sealed = self.ws.seal_totp(&id, enrollment.secret.expose_bytes())?;
                event.detail = serde_json::json!({ "step": "begin" });
                self.ws.identity().begin_totp(&id, &sealed, &event).await?;
                Ok(MfaEnrollmentInfo {
                    otpauth_uri: enrollment.otpauth_uri.expose_secret().to_owned(),
                    qr_svg: enrollment.qr_svg,
                })
            },
        )
        .await
    }

    /// Confirms enrolment with a first code; returns the recovery codes (shown once).
    pub async fn mfa_confirm(
        &self,
        caller: &Caller,
        code: &SecretString,
    ) -> Result<Vec<SecretString>, GuardError> {
        refuse_scoped_enrolment(caller)?;
        let id = caller.principal.id.clone();
        self.guarded(
            caller,
            Action::MfaEnroll,
            subject(&id),
            None,
            |mut event| async move {
                let pending = self.ws.identity().totp(&id).await?.ok_or_else(|| {
                    bad("no enrolment is pending: start one with `covault mfa enroll`")
                })?;
                if pending.confirmed_at_ms.is_some() {
                    return Err(StoreError::Conflict(
                        "an authenticator is already enrolled".into(),
                    )
                    .into());
                }
                let seed = self.ws.open_totp(&id, &pending.sealed_secret)?;
                let secret = covault_policy::TotpSecret::from_bytes(seed.to_vec());
                let now_s = u64::try_from(event.at_ms / 1000).unwrap_or(0);
                let step = covault_policy::verify_totp(&secret, code.expose_secret(), now_s, None)
                    .map_err(|e| GuardError::BadRequest(e.to_string()))?;
                let (codes, hashes) = covault_policy::RecoveryCodes::generate(10)
                    .map_err(|e| GuardError::BadRequest(e.to_string()))?;
                event.detail =
                    serde_json::json!({ "step": "confirm", "recovery_codes": hashes.len() });
                self.ws
                    .identity()
                    .confirm_totp(&id, &pending.sealed_secret, step, &hashes, &event)
                    .await?;
                Ok(codes)
            },
        )
        .await
    }

    /// Removes a principal's authenticator (a lost phone); they must enrol again.
    pub async fn mfa_reset(&self, caller: &Caller, principal: &str) -> Result<(), GuardError> {
        let id = self.find_principal(principal).await?.principal.id;
        self.guarded(
            caller,
            Action::MfaReset,
            subject(&id),
            None,
            |mut event| async move {
                event.detail = serde_json::json!({ "principal": id });
                Ok(self.ws.identity().delete_totp(&id, &event).await?)
            },
        )
        .await
    }

    /// Unused tokens, tokens without expiry, roles never exercised, stale admin grants.
    pub async fn access_review(
        &self,
        caller: &Caller,
        unused_days: u32,
    ) -> Result<AccessReview, GuardError> {
        self.guarded(
            caller,
            Action::AccessReview,
            Resource::Workspace,
            None,
            |mut event| async move {
                let ids = self.ws.identity();
                let principals = ids.principals().await?;
                let tokens = ids.tokens(None).await?;
                let usage = ids.role_usage().await?;
                let at_ms = now_ms();
                let findings = review(&principals, &tokens, &usage, unused_days, at_ms);
                event.detail =
                    serde_json::json!({ "findings": findings.len(), "unused_days": unused_days });
                self.ws.append_audit(&event).await?;
                Ok(AccessReview {
                    generated_at: covault_audit::format_rfc3339(at_ms),
                    unused_days,
                    findings,
                })
            },
        )
        .await
    }
}

/// A scoped token enrols a second factor only if its scope names `mfa.enroll`: a narrow
/// credential must not be able to turn itself into a second factor.
fn refuse_scoped_enrolment(caller: &Caller) -> Result<(), GuardError> {
    match caller.scope() {
        Some(scope) if !scope.names_action(Action::MfaEnroll) => Err(GuardError::Forbidden(
            "a scoped token cannot enrol MFA unless its scope names mfa.enroll".into(),
        )),
        _ => Ok(()),
    }
}

pub(crate) fn token_record(
    issued: &IssuedToken,
    owner: &str,
    description: &str,
    at_ms: i64,
    expires_at_ms: i64,
) -> TokenRecord {
    TokenRecord {
        id: issued.id.clone(),
        principal_id: owner.to_owned(),
        hash: issued.hash.clone(),
        description: description.to_owned(),
        created_at_ms: at_ms,
        expires_at_ms: Some(expires_at_ms),
        revoked_at_ms: None,
        last_used_at_ms: None,
        last_used_addr: None,
        scope: TokenScope::default(),
        rotated_from: None,
        rotated_at_ms: None,
    }
}

fn review(
    principals: &[PrincipalRecord],
    tokens: &[TokenRecord],
    usage: &[covault_store::RoleUse],
    unused_days: u32,
    at_ms: i64,
) -> Vec<ReviewFinding> {
    let cutoff = at_ms - i64::from(unused_days) * DAY_MS;
    let name_of = |id: &str| {
        principals
            .iter()
            .find(|p| p.principal.id == id)
            .map_or_else(String::new, |p| p.principal.name.clone())
    };
    let fmt = covault_audit::format_rfc3339;
    let mut out = Vec::new();
    for t in tokens {
        let live = t.revoked_at_ms.is_none() && t.expires_at_ms.is_none_or(|e| e > at_ms);
        if !live {
            continue;
        }
        let finding = |kind: &str, since: i64, detail: String| ReviewFinding {
            kind: kind.into(),
            principal_id: t.principal_id.clone(),
            principal_name: name_of(&t.principal_id),
            token_id: Some(t.id.to_string()),
            role: None,
            last_used_at: t.last_used_at_ms.map(fmt),
            since: fmt(since),
            detail,
        };
        let last = t.last_used_at_ms.unwrap_or(t.created_at_ms);
        if last < cutoff {
            let detail = match t.last_used_at_ms {
                Some(_) => format!("not used in the last {unused_days} days"),
                None => format!("never used, created over {unused_days} days ago"),
            };
            out.push(finding("unused-token", last, detail));
        }
        if t.expires_at_ms.is_none() {
            out.push(finding(
                "token-without-expiry",
                t.created_at_ms,
                "never expires: rotate it into one with an expiry".into(),
            ));
        }
    }
    for p in principals {
        let principal = &p.principal;
        if principal.kind == PrincipalKind::Operator || !principal.enabled {
            continue;
        }
        for role in principal.roles() {
            let used = usage
                .iter()
                .find(|u| u.principal_id == principal.id && u.role == role)
                .map(|u| u.last_exercised_at_ms);
            let admin = ADMIN_ROLES.contains(&role);
            let kind = match used {
                Some(t) if admin && t < cutoff && p.role_granted_at_ms < cutoff => {
                    "stale-admin-grant"
                }
                None if admin && p.role_granted_at_ms < cutoff => "stale-admin-grant",
                None => "role-never-exercised",
                Some(_) => continue,
            };
            out.push(ReviewFinding {
                kind: kind.into(),
                principal_id: principal.id.clone(),
                principal_name: principal.name.clone(),
                token_id: None,
                role: Some(role.to_owned()),
                last_used_at: used.map(fmt),
                since: fmt(p.role_granted_at_ms),
                detail: match used {
                    Some(_) => format!("{role} not exercised in the last {unused_days} days"),
                    None => format!("{role} never exercised since it was granted"),
                },
            });
        }
    }
    out
}
