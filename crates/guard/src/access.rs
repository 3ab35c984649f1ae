//! The vault's access machinery: its options (policy files, token lifetimes, MFA issuer), the
//! active Cedar policy set (swapped whole on reload; a set that fails to load never replaces
//! the one in force), reading policy files, second-factor checks, and the role-usage notes
//! that access review reads.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use covault_policy::{
    Denial, EngineOptions, PolicyEngine, PolicySource, Principal, PrincipalKind, TotpSecret,
    match_recovery_code, verify_totp,
};
use secrecy::{ExposeSecret, SecretString};

use crate::{Caller, GuardError, Vault};

const DAY_MS: i64 = 86_400_000;
/// Largest policy file read.
const MAX_POLICY_FILE: u64 = 1024 * 1024;
/// Most policy files in the directory.
const MAX_POLICY_FILES: usize = 256;
/// Wrong second-factor codes in a row before the factor locks…
const MAX_MFA_FAILURES: i64 = 5;
/// …for this long.
const MFA_LOCK_MS: i64 = 15 * 60_000;
/// How often (at most) one principal's use of one role is written.
const ROLE_USE_INTERVAL_MS: i64 = 5 * 60_000;

/// Access configuration of a vault.
#[derive(Clone, Debug)]
pub struct AccessOptions {
    /// Directory of `*.cedar` policy files loaded beside (or instead of) the built-in set.
    pub policy_dir: Option<PathBuf>,
    /// Load the built-in default policies.
    pub builtin_policies: bool,
    /// Built-in policy ids to leave out.
    pub disabled_builtin: Vec<String>,
    /// Lifetime of a token created without an explicit expiry.
    pub token_default_ttl_ms: i64,
    /// Longest lifetime a token may be given.
    pub token_max_ttl_ms: i64,
    /// How long a rotated token's old secret keeps working, by default.
    pub rotation_overlap_ms: i64,
    /// Longest overlap a rotation may ask for.
    pub max_rotation_overlap_ms: i64,
    /// Issuer shown in authenticator apps.
    pub mfa_issuer: String,
    /// A browser session ends after this long without a request…
    pub session_idle_ms: i64,
    /// …and this long after login, whatever happens.
    pub session_absolute_ms: i64,
    /// Lifetime of the API token `covault login` receives.
    pub login_token_ttl_ms: i64,
}

impl Default for AccessOptions {
    fn default() -> Self {
        Self {
            policy_dir: None,
            builtin_policies: true,
            disabled_builtin: Vec::new(),
            token_default_ttl_ms: 90 * DAY_MS,
            token_max_ttl_ms: 365 * DAY_MS,
            rotation_overlap_ms: DAY_MS,
            max_rotation_overlap_ms: 30 * DAY_MS,
            mfa_issuer: "covault".into(),
            session_idle_ms: 30 * 60_000,
            session_absolute_ms: 12 * 3_600_000,
            login_token_ttl_ms: 12 * 3_600_000,
        }
    }
}

/// The active policy set and what reloading it needs.
pub(crate) struct Engine {
    current: RwLock<Arc<PolicyEngine>>,
    pub(crate) options: AccessOptions,
    role_use: Mutex<HashMap<(String, String), i64>>,
}

impl Engine {
    pub(crate) fn new(options: &AccessOptions) -> Result<Self, GuardError> {
        let engine = load(options)?;
        Ok(Self {
            current: RwLock::new(Arc::new(engine)),
            options: options.clone(),
            role_use: Mutex::new(HashMap::new()),
        })
    }

    /// The policy set in force.
    pub(crate) fn current(&self) -> Arc<PolicyEngine> {
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Re-reads the policy files; on any error the previous set stays in force.
    pub(crate) fn reload(&self) -> Result<Arc<PolicyEngine>, GuardError> {
        let fresh = Arc::new(load(&self.options)?);
        let mut guard = match self.current.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Arc::clone(&fresh);
        Ok(fresh)
    }
}

/// The policy set `options` describe.
pub fn load(options: &AccessOptions) -> Result<PolicyEngine, GuardError> {
    let sources = match &options.policy_dir {
        Some(dir) => read_policy_dir(dir)?,
        None => Vec::new(),
    };
    let engine_options = EngineOptions {
        builtin: options.builtin_policies,
        disabled_builtin: options.disabled_builtin.clone(),
    };
    Ok(PolicyEngine::load(&sources, &engine_options)?)
}

/// Every `*.cedar` file of `dir`, by name. A missing directory is an empty set.
pub fn read_policy_dir(dir: &Path) -> Result<Vec<PolicySource>, GuardError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(policy_io(dir, &e)),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| policy_io(dir, &e))?.path();
        if path.extension().is_some_and(|x| x == "cedar") {
            paths.push(path);
        }
    }
    if paths.len() > MAX_POLICY_FILES {
        return Err(GuardError::BadRequest(format!(
            "{} holds more than {MAX_POLICY_FILES} policy files",
            dir.display()
        )));
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let meta = std::fs::metadata(&path).map_err(|e| policy_io(&path, &e))?;
            if meta.len() > MAX_POLICY_FILE {
                return Err(GuardError::BadRequest(format!(
                    "policy file {} is larger than 1 MiB",
                    path.display()
                )));
            }
            let text = std::fs::read_to_string(&path).map_err(|e| policy_io(&path, &e))?;
            let name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            Ok(PolicySource { name, text })
        })
        .collect()
}

fn policy_io(path: &Path, e: &std::io::Error) -> GuardError {
    GuardError::BadRequest(format!("cannot read policies from {}: {e}", path.display()))
}

/// The error a denial becomes: MFA denials are told apart so clients can ask for a code.
pub(crate) fn denial_error(denial: Denial) -> GuardError {
    if denial.policies.iter().any(|p| p.starts_with("mfa-")) {
        GuardError::MfaRequired(denial.reason)
    } else {
        GuardError::Forbidden(denial.reason)
    }
}

impl Vault {
    /// Checks a TOTP code (6 digits, each step spent once) or an unused recovery code (then
    /// spent). `Ok(Err(reason))` is a wrong code; `Err` a store failure.
    pub(crate) async fn verify_second_factor(
        &self,
        principal: &Principal,
        code: &SecretString,
    ) -> Result<Result<(), &'static str>, GuardError> {
        let ids = self.ws.identity();
        let Some(totp) = ids.totp(&principal.id).await? else {
            return Ok(Err("one-time code sent but no authenticator is enrolled"));
        };
        if totp.confirmed_at_ms.is_none() {
            return Ok(Err("one-time code sent but enrolment is not confirmed"));
        }
        let at_ms = covault_audit::now_ms();
        if totp.locked_until_ms.is_some_and(|t| t > at_ms) {
            return Ok(Err("second factor locked after repeated wrong codes"));
        }
        let verdict = self.check_codes(principal, &totp, code, at_ms).await?;
        if verdict.is_err() {
            ids.totp_failed(&principal.id, MAX_MFA_FAILURES, at_ms + MFA_LOCK_MS)
                .await?;
        }
        Ok(verdict)
    }

    async fn check_codes(
        &self,
        principal: &Principal,
        totp: &covault_store::TotpRecord,
        code: &SecretString,
        at_ms: i64,
    ) -> Result<Result<(), &'static str>, GuardError> {
        let ids = self.ws.identity();
        let code = code.expose_secret().trim();
        if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
            let seed = self.ws.open_totp(&principal.id, &totp.sealed_secret)?;
            let secret = TotpSecret::from_bytes(seed.to_vec());
            let now_s = u64::try_from(at_ms / 1000).unwrap_or(0);
            return Ok(match verify_totp(&secret, code, now_s, totp.last_step) {
                Ok(step) if ids.use_totp_step(&principal.id, step).await? => Ok(()),
                Ok(_) => Err("one-time code replayed"),
                Err(_) => Err("wrong one-time code"),
            });
        }
        let stored = ids.recovery_codes(&principal.id).await?;
        let hashes: Vec<[u8; 32]> = stored.iter().map(|(_, h)| *h).collect();
        let Some(found) = match_recovery_code(code, &hashes) else {
            return Ok(Err("wrong recovery code"));
        };
        let index = stored[found].0;
        if ids.use_recovery_code(&principal.id, index, at_ms).await? {
            let mut event = covault_audit::AuditEvent::new("mfa.recovery_code");
            event.principal = Some(principal.id.clone());
            event.principal_kind = Some(principal.kind.as_str().to_owned());
            event.reason = "a recovery code was spent".into();
            event.detail = serde_json::json!({ "index": index, "left": stored.len() - 1 });
            self.ws.append_audit(&event).await?;
            Ok(Ok(()))
        } else {
            Ok(Err("recovery code already used"))
        }
    }

    /// Notes which roles a permitted decision exercised (for access review), at most once
    /// per principal and role every few minutes. A failure here is logged, not fatal: these
    /// are statistics, and the decision itself is in the audit log.
    pub(crate) async fn note_role_use(&self, caller: &Caller, policies: &[String], at_ms: i64) {
        if caller.principal.kind == PrincipalKind::Operator || caller.principal.id.is_empty() {
            return;
        }
        let engine = self.access.current();
        let mut due = Vec::new();
        if let Ok(mut seen) = self.access.role_use.lock() {
            for id in policies {
                let Some(role) = engine.role_of(id) else {
                    continue;
                };
                let key = (caller.principal.id.clone(), role.to_owned());
                let last = seen.get(&key).copied();
                if last.is_none_or(|t| at_ms - t >= ROLE_USE_INTERVAL_MS) {
                    seen.insert(key, at_ms);
                    due.push(role.to_owned());
                }
            }
        }
        if due.is_empty() {
            return;
        }
        if let Err(e) = self
            .ws
            .identity()
            .record_role_use(&caller.principal.id, &due, at_ms)
            .await
        {
            tracing::warn!(error = %e, "could not record role use");
        }
    }

    /// The policy set in force.
    pub fn policy_engine(&self) -> Arc<PolicyEngine> {
        self.access.current()
    }

    /// Re-reads the policy files (operator only, e.g. on SIGHUP). A set that does not load
    /// leaves the one in force untouched. Audited either way; returns the number of policies.
    pub async fn reload_policies(&self, operator: &Caller) -> Result<usize, GuardError> {
        if operator.principal.kind != PrincipalKind::Operator {
            return Err(GuardError::Forbidden(
                "only the local operator may reload policies".into(),
            ));
        }
        let mut event =
            crate::vault::base_event(operator, covault_policy::Action::PolicyRead, None);
        event.action = "policy.reload".into();
        let result = self.access.reload();
        match &result {
            Ok(engine) => {
                event.detail = serde_json::json!({ "policies": engine.policies().len() });
            }
            Err(e) => {
                event.outcome = covault_audit::Outcome::Failed;
                event.reason = "policy set did not load; previous set stays in force".into();
                tracing::error!(error = %e, "policy reload failed; the previous set stays in force");
            }
        }
        self.ws.append_audit(&event).await?;
        Ok(result?.policies().len())
    }
}
