//! [`Vault`]: opening the workspace, authenticating callers, and every operation on the data
//! as authorize → act → audit.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use covault_audit::{AuditEvent, Outcome, now_ms};
use covault_policy::{
    Action, Decision, IssuedToken, PresentedToken, Principal, PrincipalKind, RequestFacts,
    Resource, Tier,
};
use covault_store::{
    ByteStream, DataDir, FileRecord, KekSource, LockMode, NewKekSource, PathLimits, PutOptions,
    SqliteMetadata, StoreError, TokenRecord, VerifyReport, Workspace, WorkspaceOptions,
    WorkspacePath,
};
use secrecy::SecretString;

use crate::access::{AccessOptions, Engine};
use crate::{
    Caller, Download, FileInfo, GuardError, Listing, PrincipalInfo, PurgeInfo, RequestContext,
    VersionInfo,
};

/// Operator principal id: the holder of the data directory and its KEK, acting in-process.
const OPERATOR_ID: &str = "operator";
/// Largest page a listing returns.
pub const MAX_LIST_PAGE: u32 = 1000;
/// How often (at most) a token's last-used time is written.
const TOUCH_INTERVAL_MS: i64 = 60_000;

/// Size limits and defaults.
#[derive(Clone, Debug)]
pub struct VaultLimits {
    pub max_file_bytes: u64,
    pub path_limits: PathLimits,
    pub default_tier: Tier,
    /// Scan writes and raise tiers from content.
    pub classify: bool,
    /// Text beyond this many bytes of a version is not scanned.
    pub scan_limit: u64,
    pub classification: covault_scan::ClassificationPolicy,
    /// Document extraction on write, and what an unreadable document gets.
    pub extraction: covault_store::ExtractionPolicy,
    /// Policy engine, token lifetimes, MFA.
    pub access: AccessOptions,
}

impl Default for VaultLimits {
    fn default() -> Self {
        let ws = WorkspaceOptions::default();
        Self {
            max_file_bytes: ws.max_file_bytes,
            path_limits: ws.path_limits,
            default_tier: ws.default_tier,
            classify: ws.classify,
            scan_limit: ws.scan_limit,
            classification: ws.classification,
            extraction: ws.extraction,
            access: AccessOptions::default(),
        }
    }
}

impl VaultLimits {
    fn workspace_options(&self) -> WorkspaceOptions {
        WorkspaceOptions {
            max_file_bytes: self.max_file_bytes,
            path_limits: self.path_limits,
            default_tier: self.default_tier,
            classify: self.classify,
            scan_limit: self.scan_limit,
            classification: self.classification.clone(),
            extraction: self.extraction.clone(),
        }
    }
}

/// How to open an existing workspace.
pub struct OpenOptions {
    pub data_dir: PathBuf,
    pub source: KekSource,
    pub lock: LockMode,
    pub limits: VaultLimits,
}

/// How to create a workspace.
pub struct InitOptions {
    pub data_dir: PathBuf,
    pub source: NewKekSource,
    pub admin_name: String,
    pub limits: VaultLimits,
}

/// An opened vault and its local operator.
pub struct Opened {
    pub vault: Vault,
    pub operator: Caller,
}

/// A new vault, its operator, and the first admin's token (shown once).
pub struct Initialized {
    pub vault: Vault,
    pub operator: Caller,
    pub admin: PrincipalInfo,
    pub admin_token: SecretString,
}

/// The guarded workspace. Holds the store privately; everything goes through its methods.
pub struct Vault {
    pub(crate) ws: Arc<Workspace>,
    pub(crate) access: Engine,
    pub(crate) dir: DataDir,
    pub(crate) limits: VaultLimits,
}

fn operator_principal() -> Principal {
    Principal {
        id: OPERATOR_ID.into(),
        name: "local operator".into(),
        kind: PrincipalKind::Operator,
        role: "operator".into(),
        enabled: true,
        groups: Vec::new(),
        group_roles: Vec::new(),
        mfa_enrolled: false,
    }
}

pub(crate) fn operator_caller() -> Caller {
    Caller {
        principal: operator_principal(),
        token_id: None,
        scope: None,
        mfa: false,
        token_expires_at_ms: None,
        context: RequestContext::default(),
    }
}

async fn open_parts(
    data_dir: &std::path::Path,
    create: bool,
    lock: LockMode,
) -> Result<
    (
        DataDir,
        Arc<SqliteMetadata>,
        Arc<covault_store::LocalBlobStore>,
    ),
    GuardError,
> {
    let dir = DataDir::open(data_dir, create, lock)?;
    let meta = Arc::new(SqliteMetadata::open(&dir.database_path(), create).await?);
    let blobs = Arc::new(dir.blob_store()?);
    Ok((dir, meta, blobs))
}

impl Vault {
    /// Creates a workspace in `data_dir` with its first admin. Fails if one exists.
    pub async fn init(options: InitOptions) -> Result<Initialized, GuardError> {
        let name = options.admin_name.trim();
        if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
            return Err(GuardError::BadRequest(
                "the admin name must be 1 to 64 printable characters".into(),
            ));
        }
        let access = Engine::new(&options.limits.access)?;
        let (dir, meta, blobs) = open_parts(&options.data_dir, true, LockMode::Exclusive).await?;
        let admin = Principal {
            id: format!(
                "usr_{}",
                &covault_crypto::random_id().map_err(StoreError::from)?[..16]
            ),
            name: name.to_owned(),
            kind: PrincipalKind::User,
            role: "admin".into(),
            enabled: true,
            groups: Vec::new(),
            group_roles: Vec::new(),
            mfa_enrolled: false,
        };
        let issued = IssuedToken::generate().map_err(StoreError::from)?;
        let at_ms = now_ms();
        let token = TokenRecord {
            id: issued.id.clone(),
            principal_id: admin.id.clone(),
            hash: issued.hash.clone(),
            description: "created by covault init".into(),
            created_at_ms: at_ms,
            expires_at_ms: Some(at_ms.saturating_add(options.limits.access.token_default_ttl_ms)),
            revoked_at_ms: None,
            last_used_at_ms: None,
            last_used_addr: None,
            scope: covault_policy::TokenScope::default(),
            rotated_from: None,
            rotated_at_ms: None,
        };
        let operator = operator_caller();
        let mut event = base_event(&operator, Action::PrincipalCreate, None);
        event.reason = "workspace initialised".into();
        event.detail = serde_json::json!({ "admin": admin.id, "token_id": issued.id.as_str() });
        let ws = Workspace::initialize(
            meta,
            blobs,
            options.limits.workspace_options(),
            options.source,
            (&operator_principal(), &admin, &token),
            &event,
        )
        .await?;
        Ok(Initialized {
            vault: Vault {
                ws: Arc::new(ws),
                access,
                dir,
                limits: options.limits.clone(),
            },
            operator,
            admin: PrincipalInfo::new(&admin, Some(issued.id.to_string())),
            admin_token: issued.text,
        })
    }

    /// Opens an existing workspace. With an exclusive lock, leftovers of interrupted writes
    /// are removed first.
    pub async fn open(options: OpenOptions) -> Result<Opened, GuardError> {
        let started = std::time::Instant::now();
        let access = Engine::new(&options.limits.access)?;
        tracing::debug!(ms = started.elapsed().as_millis(), "open: policies loaded");
        let (dir, meta, blobs) = open_parts(&options.data_dir, false, options.lock).await?;
        tracing::debug!(ms = started.elapsed().as_millis(), "open: database opened");
        let ws = Workspace::open(
            meta,
            blobs,
            options.limits.workspace_options(),
            options.source,
        )
        .await?;
        tracing::debug!(ms = started.elapsed().as_millis(), "open: keyring unlocked");
        if options.lock == LockMode::Exclusive {
            let removed = ws.remove_orphans().await?;
            tracing::debug!(ms = started.elapsed().as_millis(), "open: orphans swept");
            if removed > 0 {
                tracing::info!(removed, "removed blobs left by interrupted writes");
            }
        }
        Ok(Opened {
            vault: Vault {
                ws: Arc::new(ws),
                access,
                dir,
                limits: options.limits.clone(),
            },
            operator: operator_caller(),
        })
    }

    /// The largest file a put accepts.
    pub fn max_file_bytes(&self) -> u64 {
        self.ws.options().max_file_bytes
    }

    /// Whether the metadata store answers (readiness).
    pub async fn ready(&self) -> Result<(), GuardError> {
        Ok(self.ws.ping().await?)
    }

    /// Authenticates an API token, and a second factor when the request carries one (a TOTP
    /// code or a recovery code). Every failure is audited (never with the token or code) and
    /// answered with [`GuardError::Unauthenticated`]; details are given only to a caller that
    /// proved possession of the secret. A token used from outside its IP allowlist is refused.
    pub async fn authenticate(
        &self,
        token: &SecretString,
        otp: Option<&SecretString>,
        context: RequestContext,
    ) -> Result<Caller, GuardError> {
        const INVALID: &str = "the API token is not valid: check COVAULT_TOKEN";
        let anonymous = Caller {
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
        let Ok(presented) = PresentedToken::parse(token) else {
            return Err(self
                .deny_authentication(&anonymous, None, "malformed token", INVALID)
                .await);
        };
        let found = self.ws.token(&presented.id).await?;
        let Some((record, principal)) = found else {
            return Err(self
                .deny_authentication(&anonymous, Some(&presented.id), "unknown token id", INVALID)
                .await);
        };
        if !record.hash.matches(&presented.hash) {
            return Err(self
                .deny_authentication(
                    &anonymous,
                    Some(&presented.id),
                    "wrong token secret",
                    INVALID,
                )
                .await);
        }
        let mut caller = Caller {
            principal,
            token_id: Some(record.id.clone()),
            scope: (!record.scope.is_unrestricted()).then(|| record.scope.clone()),
            mfa: false,
            token_expires_at_ms: record.expires_at_ms,
            context: anonymous.context,
        };
        let at_ms = now_ms();
        let refusal = if record.revoked_at_ms.is_some() {
            Some(("token revoked", "the API token was revoked"))
        } else if record.expires_at_ms.is_some_and(|t| t <= at_ms) {
            Some(if record.rotated_at_ms.is_some() {
                (
                    "token rotated and past its overlap window",
                    "the API token was rotated and its overlap window has ended: use its successor",
                )
            } else {
                (
                    "token expired",
                    "the API token has expired: ask an admin for a new one",
                )
            })
        } else if !caller.principal.enabled {
            Some(("principal disabled", "this account is disabled"))
        } else if !record.scope.allows_ip(caller.remote_ip()) {
            Some((
                "address not in the token's allowlist",
                "this API token may not be used from this address",
            ))
        } else {
            None
        };
        if let Some((reason, message)) = refusal {
            return Err(self
                .deny_authentication(&caller, Some(&record.id), reason, message)
                .await);
        }
        if let Some(code) = otp {
            match self.verify_second_factor(&caller.principal, code).await? {
                Ok(()) => caller.mfa = true,
                Err(reason) => {
                    return Err(self
                        .deny_authentication(
                            &caller,
                            Some(&record.id),
                            reason,
                            "the one-time code is not valid (wrong, expired or already used)",
                        )
                        .await);
                }
            }
        }
        if record
            .last_used_at_ms
            .is_none_or(|t| at_ms - t >= TOUCH_INTERVAL_MS)
        {
            let addr = caller.context.remote_addr.as_deref();
            if let Err(e) = self.ws.touch_token(&record.id, at_ms, addr).await {
                tracing::warn!(token_id = record.id.as_str(), error = %e, "could not record token use");
            }
        }
        Ok(caller)
    }

    pub(crate) async fn deny_authentication(
        &self,
        caller: &Caller,
        token_id: Option<&covault_policy::TokenId>,
        reason: &'static str,
        message: &'static str,
    ) -> GuardError {
        let mut event = base_event(caller, Action::Authenticate, None);
        event.principal = (!caller.principal.id.is_empty()).then(|| caller.principal.id.clone());
        if event.principal.is_none() {
            event.principal_kind = None;
        }
        event.token_id = token_id.map(|t| t.to_string());
        event.outcome = Outcome::Denied;
        event.reason = reason.into();
        if let Err(e) = self.ws.append_audit(&event).await {
            tracing::error!(error = %e, "could not audit a failed authentication");
        }
        GuardError::Unauthenticated(message)
    }

    /// authorize → act → audit. `act` receives the success event and must commit it (in its
    /// store transaction, or by appending it before releasing data). A denial or a failure is
    /// audited here. Authorization is a value: there is no error path that grants.
    pub(crate) async fn guarded<T, F, Fut>(
        &self,
        caller: &Caller,
        action: Action,
        resource: Resource,
        path: Option<&WorkspacePath>,
        act: F,
    ) -> Result<T, GuardError>
    where
        F: FnOnce(AuditEvent) -> Fut,
        Fut: Future<Output = Result<T, GuardError>>,
    {
        self.guarded_with(caller, action, resource, Facts::default(), path, act)
            .await
    }

    /// [`Vault::guarded`] with facts beyond the caller's (a label's new tier, AI data tier).
    pub(crate) async fn guarded_with<T, F, Fut>(
        &self,
        caller: &Caller,
        action: Action,
        resource: Resource,
        facts: Facts<'_>,
        path: Option<&WorkspacePath>,
        act: F,
    ) -> Result<T, GuardError>
    where
        F: FnOnce(AuditEvent) -> Fut,
        Fut: Future<Output = Result<T, GuardError>>,
    {
        let mut event = base_event(caller, action, path);
        if let Resource::Path { tier, .. } = &resource {
            event.tier = *tier;
        }
        match self.decide(caller, action, &resource, &facts) {
            Decision::Deny(denial) => {
                event.outcome = Outcome::Denied;
                event.reason = denial.reason.clone();
                event.policies = denial.policies.clone();
                if let Err(e) = self.ws.append_audit(&event).await {
                    tracing::error!(error = %e, "could not audit a denial");
                }
                Err(crate::access::denial_error(denial))
            }
            Decision::Allow(permit) => {
                event.reason = "permitted".into();
                event.policies = permit.policies().to_vec();
                self.note_role_use(caller, permit.policies(), event.at_ms)
                    .await;
                let failure_template = event.clone();
                match act(event).await {
                    Ok(value) => Ok(value),
                    Err(err) => {
                        let mut failed = failure_template;
                        failed.outcome = Outcome::Failed;
                        failed.reason = err.kind().as_str().into();
                        if let Err(e) = self.ws.append_audit(&failed).await {
                            tracing::error!(error = %e, "could not audit a failed operation");
                        }
                        Err(err)
                    }
                }
            }
        }
    }

    /// One decision by the active policy set, with the caller's own facts.
    pub(crate) fn decide(
        &self,
        caller: &Caller,
        action: Action,
        resource: &Resource,
        facts: &Facts<'_>,
    ) -> Decision {
        let request = RequestFacts {
            mfa: caller.mfa,
            remote_ip: caller.remote_ip(),
            scope: caller.scope.as_ref(),
            new_tier: facts.new_tier,
            data_tier: facts.data_tier,
            model: facts.model,
        };
        self.access
            .current()
            .decide(&caller.principal, action, resource, &request)
    }

    /// Parses a client path; an invalid one is audited as a failed request.
    async fn parse_path(
        &self,
        caller: &Caller,
        action: Action,
        raw: &str,
    ) -> Result<WorkspacePath, GuardError> {
        match self.ws.parse_path(raw) {
            Ok(path) => Ok(path),
            Err(err) => Err(self.reject_input(caller, action, err).await),
        }
    }

    async fn reject_input(&self, caller: &Caller, action: Action, err: StoreError) -> GuardError {
        let mut event = base_event(caller, action, None);
        event.outcome = Outcome::Failed;
        event.reason = "invalid_path".into();
        if let Err(e) = self.ws.append_audit(&event).await {
            tracing::error!(error = %e, "could not audit an invalid path");
        }
        err.into()
    }

    async fn resource(
        &self,
        path: &WorkspacePath,
    ) -> Result<(Resource, Option<FileRecord>), GuardError> {
        let file = self.ws.file(path).await?;
        let resource = Resource::Path {
            path: path.to_string(),
            tier: file.as_ref().map(|f| f.tier),
            owner: file.as_ref().and_then(|f| f.owner.clone()),
        };
        Ok((resource, file))
    }

    /// Writes a new version of `raw_path` from `body` (streamed; never buffered whole).
    pub async fn put(
        &self,
        caller: &Caller,
        raw_path: &str,
        tier: Option<Tier>,
        body: ByteStream,
    ) -> Result<VersionInfo, GuardError> {
        let path = self.parse_path(caller, Action::FileWrite, raw_path).await?;
        let (resource, known_file) = self.resource(&path).await?;
        self.guarded(
            caller,
            Action::FileWrite,
            resource,
            Some(&path),
            |event| async {
                let options = PutOptions {
                    tier,
                    author: caller.principal.name.clone(),
                    known_file,
                };
                let version = self.ws.put(&path, options, body, event).await?;
                Ok(VersionInfo::new(path.as_str(), &version))
            },
        )
        .await
    }

    /// Streams a version (the current one by default) of `raw_path`.
    pub async fn get(
        &self,
        caller: &Caller,
        raw_path: &str,
        version: Option<i64>,
    ) -> Result<Download, GuardError> {
        let path = self.parse_path(caller, Action::FileRead, raw_path).await?;
        let (resource, file) = self.resource(&path).await?;
        let path = &path;
        self.guarded(
            caller,
            Action::FileRead,
            resource,
            Some(path),
            |mut event| async move {
                let file = file.ok_or_else(|| StoreError::NotFound(path.to_string()))?;
                if version.is_none() && file.deleted_at_ms.is_some() {
                    return Err(StoreError::Deleted(path.to_string()).into());
                }
                let record = self.ws.version(&file, version).await?;
                let info = VersionInfo::new(path.as_str(), &record);
                let stream = self.ws.open_version(file, record).await?;
                event.version = Some(info.version);
                event.detail = serde_json::json!({ "size": info.size, "tier": info.tier });
                self.ws.append_audit(&event).await?;
                Ok(Download {
                    info,
                    body: stream.body,
                })
            },
        )
        .await
    }

    /// Metadata of a file and its current version (deleted files included).
    pub async fn stat(&self, caller: &Caller, raw_path: &str) -> Result<FileInfo, GuardError> {
        let path = self.parse_path(caller, Action::FileStat, raw_path).await?;
        let (resource, file) = self.resource(&path).await?;
        let path = &path;
        self.guarded(
            caller,
            Action::FileStat,
            resource,
            Some(path),
            |event| async move {
                let file = file.ok_or_else(|| StoreError::NotFound(path.to_string()))?;
                let current = self.ws.version(&file, None).await?;
                self.ws.append_audit(&event).await?;
                Ok(FileInfo::new(&file, &current))
            },
        )
        .await
    }

    /// Files under `prefix` (whole path components), a page at a time.
    pub async fn list(
        &self,
        caller: &Caller,
        raw_prefix: &str,
        include_deleted: bool,
        after: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Listing, GuardError> {
        let prefix = match self.ws.parse_prefix(raw_prefix) {
            Ok(prefix) => prefix,
            Err(err) => return Err(self.reject_input(caller, Action::FileList, err).await),
        };
        let after = match after {
            Some(raw) => Some(self.parse_path(caller, Action::FileList, raw).await?),
            None => None,
        };
        let limit = limit.unwrap_or(MAX_LIST_PAGE).clamp(1, MAX_LIST_PAGE);
        let resource = Resource::Path {
            path: prefix
                .as_ref()
                .map_or_else(|| "/".to_owned(), ToString::to_string),
            tier: None,
            owner: None,
        };
        let prefix = prefix.as_ref();
        let after = after.as_ref();
        self.guarded(
            caller,
            Action::FileList,
            resource,
            prefix,
            |mut event| async move {
                let rows = self.ws.list(prefix, include_deleted, after, limit).await?;
                let next_after = (rows.len() == limit as usize)
                    .then(|| rows.last().map(|(f, _)| f.path.to_string()))
                    .flatten();
                // A listing shows only files the caller may stat (role, tier and token scope).
                let rows: Vec<_> = rows
                    .into_iter()
                    .filter(|(f, _)| {
                        let resource = Resource::Path {
                            path: f.path.to_string(),
                            tier: Some(f.tier),
                            owner: f.owner.clone(),
                        };
                        self.decide(caller, Action::FileStat, &resource, &Facts::default())
                            .is_allowed()
                    })
                    .collect();
                event.detail = serde_json::json!({ "count": rows.len() });
                self.ws.append_audit(&event).await?;
                Ok(Listing {
                    files: rows.iter().map(|(f, v)| FileInfo::new(f, v)).collect(),
                    next_after,
                })
            },
        )
        .await
    }

    /// Every version of a file, oldest first.
    pub async fn history(
        &self,
        caller: &Caller,
        raw_path: &str,
    ) -> Result<Vec<VersionInfo>, GuardError> {
        let path = self
            .parse_path(caller, Action::FileHistory, raw_path)
            .await?;
        let (resource, file) = self.resource(&path).await?;
        let path = &path;
        self.guarded(
            caller,
            Action::FileHistory,
            resource,
            Some(path),
            |event| async move {
                let file = file.ok_or_else(|| StoreError::NotFound(path.to_string()))?;
                let versions = self.ws.versions(&file).await?;
                self.ws.append_audit(&event).await?;
                Ok(versions
                    .iter()
                    .map(|v| VersionInfo::new(path.as_str(), v))
                    .collect())
            },
        )
        .await
    }

    /// Makes the content of `version` the newest version (undeleting the file if needed).
    pub async fn restore(
        &self,
        caller: &Caller,
        raw_path: &str,
        version: i64,
    ) -> Result<VersionInfo, GuardError> {
        let path = self
            .parse_path(caller, Action::FileRestore, raw_path)
            .await?;
        let (resource, _) = self.resource(&path).await?;
        self.guarded(
            caller,
            Action::FileRestore,
            resource,
            Some(&path),
            |event| async {
                let record = self
                    .ws
                    .restore(&path, version, caller.principal.name.clone(), event)
                    .await?;
                Ok(VersionInfo::new(path.as_str(), &record))
            },
        )
        .await
    }

    /// Soft-deletes a file: it disappears from listings and reads, its history stays.
    pub async fn delete(&self, caller: &Caller, raw_path: &str) -> Result<(), GuardError> {
        let path = self
            .parse_path(caller, Action::FileDelete, raw_path)
            .await?;
        let (resource, file) = self.resource(&path).await?;
        let path = &path;
        self.guarded(
            caller,
            Action::FileDelete,
            resource,
            Some(path),
            |event| async move {
                let file = file.ok_or_else(|| StoreError::NotFound(path.to_string()))?;
                if file.deleted_at_ms.is_some() {
                    return Err(StoreError::Deleted(path.to_string()).into());
                }
                Ok(self.ws.delete(&file, &event).await?)
            },
        )
        .await
    }

    /// Crypto-shreds every version of a file. Irreversible.
    pub async fn purge(&self, caller: &Caller, raw_path: &str) -> Result<PurgeInfo, GuardError> {
        let path = self.parse_path(caller, Action::FilePurge, raw_path).await?;
        let (resource, file) = self.resource(&path).await?;
        let path = &path;
        self.guarded(
            caller,
            Action::FilePurge,
            resource,
            Some(path),
            |mut event| async move {
                let file = file.ok_or_else(|| StoreError::NotFound(path.to_string()))?;
                event.detail = serde_json::json!({ "versions": file.current_version });
                let destroyed = self.ws.purge(&file, &event).await?;
                Ok(PurgeInfo {
                    path: path.to_string(),
                    versions_destroyed: destroyed,
                })
            },
        )
        .await
    }

    /// Sets a file's tier label (raising or lowering; both audited with before and after).
    pub async fn set_tier(
        &self,
        caller: &Caller,
        raw_path: &str,
        tier: Tier,
    ) -> Result<FileInfo, GuardError> {
        let path = self.parse_path(caller, Action::FileLabel, raw_path).await?;
        let (resource, file) = self.resource(&path).await?;
        let path = &path;
        let facts = Facts {
            new_tier: Some(tier),
            ..Facts::default()
        };
        self.guarded_with(
            caller,
            Action::FileLabel,
            resource,
            facts,
            Some(path),
            |mut event| async move {
                let mut file = file.ok_or_else(|| StoreError::NotFound(path.to_string()))?;
                event.detail = serde_json::json!({ "from": file.tier, "to": tier });
                self.ws.set_tier(&file, tier, &event).await?;
                file.tier = tier;
                let current = self.ws.version(&file, None).await?;
                Ok(FileInfo::new(&file, &current))
            },
        )
        .await
    }

    /// Reads and checks every version in the workspace.
    pub async fn verify(&self, caller: &Caller) -> Result<VerifyReport, GuardError> {
        self.guarded(
            caller,
            Action::StoreVerify,
            Resource::Workspace,
            None,
            |mut event| async move {
                let report = self.ws.verify().await?;
                event.outcome = if report.is_ok() {
                    Outcome::Success
                } else {
                    Outcome::Failed
                };
                event.detail = serde_json::json!({
                    "versions_checked": report.versions_checked,
                    "bytes_checked": report.bytes_checked,
                    "problems": report.problems.len(),
                    "orphan_blobs": report.orphan_blobs,
                });
                self.ws.append_audit(&event).await?;
                Ok(report)
            },
        )
        .await
    }

    /// Rotates the key-encryption key (operator only).
    pub async fn rotate_keys(
        &self,
        caller: &Caller,
        source: NewKekSource,
    ) -> Result<(), GuardError> {
        self.guarded(
            caller,
            Action::KeysRotate,
            Resource::Workspace,
            None,
            |event| async move { Ok(self.ws.rotate_kek(source, &event).await?) },
        )
        .await
    }
}

/// Facts of one request beyond who is asking (see [`RequestFacts`]).
#[derive(Clone, Debug, Default)]
pub(crate) struct Facts<'a> {
    pub new_tier: Option<Tier>,
    pub data_tier: Option<Tier>,
    pub model: Option<&'a str>,
}

pub(crate) fn base_event(
    caller: &Caller,
    action: Action,
    path: Option<&WorkspacePath>,
) -> AuditEvent {
    let context = &caller.context;
    let mut event = AuditEvent::new(action.as_str());
    event.principal = Some(caller.principal.id.clone());
    event.principal_kind = Some(caller.principal.kind.as_str().to_owned());
    event.token_id = caller.token_id.as_ref().map(|t| t.to_string());
    event.session_id = context.session_id.clone();
    event.path = path.map(ToString::to_string);
    event.request_id = context.request_id.clone();
    event.correlation_id = context.correlation_id.clone();
    event.remote_addr = context.remote_addr.clone();
    event.user_agent = context.user_agent.clone();
    event
}
