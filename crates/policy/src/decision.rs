//! Principals, actions, resources and the decision function.

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

/// An authenticated actor, as loaded from the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub id: String,
    pub name: String,
    pub kind: PrincipalKind,
    pub role: String,
    pub enabled: bool,
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
    AuditRead,
    AuditVerify,
    AuditCheckpoint,
    AuditPrune,
    AuditExport,
    Authenticate,
}

impl Action {
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
            Action::AuditRead => "audit.read",
            Action::AuditVerify => "audit.verify",
            Action::AuditCheckpoint => "audit.checkpoint",
            Action::AuditPrune => "audit.prune",
            Action::AuditExport => "audit.export",
            Action::Authenticate => "authenticate",
        }
    }

    /// Actions that only the local operator (holder of the KEK) may take.
    fn operator_only(self) -> bool {
        matches!(
            self,
            Action::KeysRotate
                | Action::AuditVerify
                | Action::AuditCheckpoint
                | Action::AuditPrune
                | Action::AuditExport
        )
    }

    /// Actions that read the audit log: for auditors and admins (and the operator).
    fn reads_audit_log(self) -> bool {
        matches!(self, Action::AuditRead)
    }
}

/// What an action is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resource {
    /// A workspace path (or prefix, for listing), with the file's tier when it exists.
    Path { path: String, tier: Option<Tier> },
    /// The workspace as a whole (keys, verification, principals).
    Workspace,
}

/// Proof that policy ran and allowed an action. Only [`authorize`] can make one.
#[derive(Clone, Debug)]
pub struct Permit {
    action: Action,
    reason: &'static str,
}

impl Permit {
    pub fn action(&self) -> Action {
        self.action
    }
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

/// The outcome of [`authorize`], with its reason for the audit log.
#[derive(Clone, Debug)]
pub enum Decision {
    Allow(Permit),
    Deny { reason: &'static str },
}

/// Roles that may read the audit log.
const AUDIT_READERS: [&str; 3] = ["auditor", "security-admin", "admin"];

/// Decides whether `principal` may take `action` on `resource`.
///
/// Foundation policy: a known, enabled principal may act on the workspace; key rotation is
/// reserved to the local operator. Anything else is denied.
pub fn authorize(principal: &Principal, action: Action, resource: &Resource) -> Decision {
    let _ = resource;
    if !principal.enabled {
        return Decision::Deny {
            reason: "principal is disabled",
        };
    }
    if action.operator_only() && principal.kind != PrincipalKind::Operator {
        return Decision::Deny {
            reason: "only the local operator (holder of the data directory and its key) may do this",
        };
    }
    if action.reads_audit_log()
        && principal.kind != PrincipalKind::Operator
        && !AUDIT_READERS.contains(&principal.role.as_str())
    {
        return Decision::Deny {
            reason: "reading the audit log needs the auditor, security-admin or admin role",
        };
    }
    Decision::Allow(Permit {
        action,
        reason: "foundation policy: enabled, authenticated principal",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(kind: PrincipalKind, enabled: bool) -> Principal {
        Principal {
            id: "p1".into(),
            name: "alice".into(),
            kind,
            role: "admin".into(),
            enabled,
        }
    }

    fn allowed(p: &Principal, a: Action) -> bool {
        matches!(authorize(p, a, &Resource::Workspace), Decision::Allow(_))
    }

    #[test]
    fn decisions() {
        let user = principal(PrincipalKind::User, true);
        let op = principal(PrincipalKind::Operator, true);
        let disabled = principal(PrincipalKind::User, false);
        assert!(allowed(&user, Action::FileRead));
        assert!(!allowed(&disabled, Action::FileRead));
        assert!(!allowed(&user, Action::KeysRotate));
        assert!(allowed(&op, Action::KeysRotate));
        assert!(
            allowed(&user, Action::AuditRead),
            "admins read the audit log"
        );
        assert!(!allowed(&user, Action::AuditPrune));
        assert!(allowed(&op, Action::AuditPrune));
        let mut editor = principal(PrincipalKind::User, true);
        editor.role = "editor".into();
        assert!(!allowed(&editor, Action::AuditRead));
        editor.role = "auditor".into();
        assert!(allowed(&editor, Action::AuditRead));
    }
}
