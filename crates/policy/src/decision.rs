//! Principals, actions, resources, request facts and decisions: the vocabulary of policy.

use serde::{Deserialize, Serialize};

use crate::Tier;

/// What kind of actor a principal is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalKind {
    User,
    Service,
    /// The local operator: whoever holds the data directory and its KEK, acting in-process
    /// (`covault verify`, `covault keys rotate`, `covault init`).
    Operator,
}

impl PrincipalKind {
    /// `user`, `service` or `operator`: in audit events and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::User => "user",
            PrincipalKind::Service => "service",
            PrincipalKind::Operator => "operator",
        }
    }
}

/// An authenticated actor, as loaded from the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub id: String,
    pub name: String,
    pub kind: PrincipalKind,
    /// The role granted directly (a built-in role or a custom one that policies name).
    pub role: String,
    pub enabled: bool,
    /// Groups the principal belongs to.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Roles granted through those groups (deduplicated, without `role`).
    #[serde(default)]
    pub group_roles: Vec<String>,
    /// Whether a TOTP authenticator is enrolled.
    #[serde(default)]
    pub mfa_enrolled: bool,
}

impl Principal {
    /// The direct role followed by the roles granted through groups.
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.role.as_str()).chain(
            self.group_roles
                .iter()
                .map(String::as_str)
                .filter(move |r| *r != self.role),
        )
    }
}

/// Every operation a principal can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    FileRead,
    FileWrite,
    FileList,
    FileStat,
    FileHistory,
    FileRestore,
    FileDelete,
    FilePurge,
    FileLabel,
    KeysRotate,
    StoreVerify,
    PrincipalCreate,
    PrincipalList,
    PrincipalUpdate,
    GroupManage,
    TokenCreate,
    TokenList,
    TokenRevoke,
    TokenRotate,
    MfaEnroll,
    MfaReset,
    AiSend,
    WorkflowRun,
    WorkflowEdit,
    PolicyRead,
    AccessReview,
    AuditRead,
    AuditVerify,
    AuditCheckpoint,
    AuditPrune,
    AuditExport,
    BackupRun,
    BackupRestore,
    BackupDrill,
    BackupPrune,
    Authenticate,
}

impl Action {
    /// Every action, in declaration order (the policy schema declares each).
    pub const ALL: [Action; 36] = [
        Action::FileRead,
        Action::FileWrite,
        Action::FileList,
        Action::FileStat,
        Action::FileHistory,
        Action::FileRestore,
        Action::FileDelete,
        Action::FilePurge,
        Action::FileLabel,
        Action::KeysRotate,
        Action::StoreVerify,
        Action::PrincipalCreate,
        Action::PrincipalList,
        Action::PrincipalUpdate,
        Action::GroupManage,
        Action::TokenCreate,
        Action::TokenList,
        Action::TokenRevoke,
        Action::TokenRotate,
        Action::MfaEnroll,
        Action::MfaReset,
        Action::AiSend,
        Action::WorkflowRun,
        Action::WorkflowEdit,
        Action::PolicyRead,
        Action::AccessReview,
        Action::AuditRead,
        Action::AuditVerify,
        Action::AuditCheckpoint,
        Action::AuditPrune,
        Action::AuditExport,
        Action::BackupRun,
        Action::BackupRestore,
        Action::BackupDrill,
        Action::BackupPrune,
        Action::Authenticate,
    ];

    /// The action's name: in audit events, token scopes and Cedar (`Action::"file.read"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::FileRead => "file.read",
            Action::FileWrite => "file.write",
            Action::FileList => "file.list",
            Action::FileStat => "file.stat",
            Action::FileHistory => "file.history",
            Action::FileRestore => "file.restore",
            Action::FileDelete => "file.delete",
            Action::FilePurge => "file.purge",
            Action::FileLabel => "file.label",
            Action::KeysRotate => "keys.rotate",
            Action::StoreVerify => "store.verify",
            Action::PrincipalCreate => "principal.create",
            Action::PrincipalList => "principal.list",
            Action::PrincipalUpdate => "principal.update",
            Action::GroupManage => "group.manage",
            Action::TokenCreate => "token.create",
            Action::TokenList => "token.list",
            Action::TokenRevoke => "token.revoke",
            Action::TokenRotate => "token.rotate",
            Action::MfaEnroll => "mfa.enroll",
            Action::MfaReset => "mfa.reset",
            Action::AiSend => "ai.send",
            Action::WorkflowRun => "workflow.run",
            Action::WorkflowEdit => "workflow.edit",
            Action::PolicyRead => "policy.read",
            Action::AccessReview => "access.review",
            Action::AuditRead => "audit.read",
            Action::AuditVerify => "audit.verify",
            Action::AuditCheckpoint => "audit.checkpoint",
            Action::AuditPrune => "audit.prune",
            Action::AuditExport => "audit.export",
            Action::BackupRun => "backup.run",
            Action::BackupRestore => "backup.restore",
            Action::BackupDrill => "backup.drill",
            Action::BackupPrune => "backup.prune",
            Action::Authenticate => "authenticate",
        }
    }

    /// The action named `name` (as [`Action::as_str`] spells it).
    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an action is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resource {
    /// A workspace path (or prefix, for listing), with the file's tier and owner (the principal
    /// id of its first author) when it exists.
    Path {
        path: String,
        tier: Option<Tier>,
        owner: Option<String>,
    },
    /// The workspace as a whole (keys, verification, the audit log, policies).
    Workspace,
    /// A principal: the subject of user, token and MFA management.
    Principal { id: String },
    /// A model provider, with the highest tier it is cleared to receive.
    Provider { name: String, clearance: Tier },
}

/// What policy may consider besides principal, action and resource.
#[derive(Clone, Debug, Default)]
pub struct RequestFacts<'a> {
    /// The request proved a second factor (a TOTP code, or a session that did at login).
    pub mfa: bool,
    /// The client address (after trusted-proxy resolution).
    pub remote_ip: Option<std::net::IpAddr>,
    /// The scope of the API token, when the request used one.
    pub scope: Option<&'a crate::TokenScope>,
    /// For `file.label`: the tier asked for.
    pub new_tier: Option<Tier>,
    /// For `ai.send`: the highest tier of the data being sent.
    pub data_tier: Option<Tier>,
    /// For `ai.send`: the model asked for.
    pub model: Option<&'a str>,
}

/// Proof that policy ran and allowed an action. Only the policy engine can make one.
#[derive(Clone, Debug)]
pub struct Permit {
    action: Action,
    policies: Vec<String>,
}

impl Permit {
    pub(crate) fn new(action: Action, policies: Vec<String>) -> Self {
        Self { action, policies }
    }
    pub fn action(&self) -> Action {
        self.action
    }
    /// Ids of the policies that permitted the action.
    pub fn policies(&self) -> &[String] {
        &self.policies
    }
}

/// Why an action was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    /// A sentence for the caller and the audit log.
    pub reason: String,
    /// Ids of the policies that forbade it (empty when nothing permitted it).
    pub policies: Vec<String>,
}

/// The outcome of an authorization, with its reasons for the audit log.
#[derive(Clone, Debug)]
pub enum Decision {
    Allow(Permit),
    Deny(Denial),
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow(_))
    }
    /// Policy ids behind the decision.
    pub fn policies(&self) -> &[String] {
        match self {
            Decision::Allow(p) => p.policies(),
            Decision::Deny(d) => &d.policies,
        }
    }
}
