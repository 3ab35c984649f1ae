//! The built-in policies against a table of expectations written independently of the
//! policy text: every built-in role × file action × tier, and every role on the workspace,
//! principal and provider actions (cross-cutting rules are in `rules.rs`). Every decision is
//! also checked against the reference path (whole set, schema-validated entities).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use covault_policy::{Action, BUILTIN_ROLES, PolicyEngine, Resource, Tier};
use support::*;

/// An action on a resource, and the (role, permit) pairs that allow it.
type Row<'a> = (Action, &'a Resource, &'a [(&'a str, &'a str)]);

/// Which built-in permit lets `role` take file `action` on a file of `tier` it does not own
/// (with MFA and a raising label), per the role table in the design.
fn file_grant(role: &str, action: Action, tier: Tier) -> Option<String> {
    let rw = R.contains(&action) || W.contains(&action);
    match role {
        "viewer" => (R.contains(&action) && tier <= Tier::Internal).then(|| "viewer-read".into()),
        "editor" | "analyst" | "workflow-admin" if tier <= Tier::Confidential => {
            if rw {
                Some(format!("{role}-files"))
            } else if action == Action::FileLabel {
                Some(format!("{role}-label-raise"))
            } else {
                None
            }
        }
        "security-admin" => Some("security-admin-files".into()),
        "admin" => Some("admin-files".into()),
        _ => None,
    }
}

#[test]
fn every_role_action_and_tier_on_files() {
    let engine = PolicyEngine::builtin().unwrap();
    let file_actions = &Action::ALL[..9];
    let mut checked = 0;
    for role in BUILTIN_ROLES {
        for &action in file_actions {
            for tier in Tier::ALL {
                let grant = file_grant(role, action, tier);
                let ids: Vec<&str> = grant.iter().map(String::as_str).collect();
                let expected = if grant.is_some() {
                    Ok(&ids[..])
                } else {
                    Err(&[][..])
                };
                check(
                    &engine,
                    &user(role),
                    action,
                    &file(tier, "u9"),
                    &mfa(),
                    expected,
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 7 * 9 * 4);
}

#[test]
fn every_role_on_workspace_principal_and_provider_actions() {
    let engine = PolicyEngine::builtin().unwrap();
    let ws = Resource::Workspace;
    let ai = provider(Tier::Confidential);
    // (action, resource, [(role, permit)]); every other built-in role is denied.
    let table: &[Row] = &[
        (Action::StoreVerify, &ws, &[("admin", "admin-workspace")]),
        (Action::GroupManage, &ws, &[("admin", "admin-workspace")]),
        (
            Action::PrincipalCreate,
            &ws,
            &[("admin", "admin-principals")],
        ),
        (
            Action::PrincipalCreate,
            &other(),
            &[("admin", "admin-principals")],
        ),
        (
            Action::PrincipalList,
            &ws,
            &[
                ("auditor", "auditor-review"),
                ("security-admin", "security-admin-review"),
                ("admin", "admin-principals"),
            ],
        ),
        (
            Action::PrincipalUpdate,
            &other(),
            &[("admin", "admin-principals")],
        ),
        (
            Action::TokenCreate,
            &other(),
            &[("admin", "admin-principals")],
        ),
        (
            Action::TokenList,
            &other(),
            &[
                ("security-admin", "security-admin-review"),
                ("admin", "admin-principals"),
            ],
        ),
        (
            Action::TokenRevoke,
            &other(),
            &[
                ("security-admin", "security-admin-review"),
                ("admin", "admin-principals"),
            ],
        ),
        (
            Action::TokenRotate,
            &other(),
            &[("admin", "admin-principals")],
        ),
        (
            Action::MfaReset,
            &other(),
            &[
                ("security-admin", "security-admin-review"),
                ("admin", "admin-principals"),
            ],
        ),
        (Action::MfaEnroll, &other(), &[]),
        (
            Action::AiSend,
            &ai,
            &[("analyst", "analyst-ai"), ("admin", "admin-ai")],
        ),
        (
            Action::WorkflowRun,
            &ws,
            &[
                ("workflow-admin", "workflow-admin-workflows"),
                ("admin", "admin-workspace"),
            ],
        ),
        (
            Action::WorkflowEdit,
            &ws,
            &[
                ("workflow-admin", "workflow-admin-workflows"),
                ("admin", "admin-workspace"),
            ],
        ),
    ];
    for (action, resource, grants) in table {
        for role in BUILTIN_ROLES {
            let grant = grants.iter().find(|(r, _)| *r == role).map(|(_, p)| [*p]);
            let expected = match &grant {
                Some(ids) => Ok(&ids[..]),
                None => Err(&[][..]),
            };
            check(&engine, &user(role), *action, resource, &mfa(), expected);
        }
    }
    let review = [Action::PolicyRead, Action::AccessReview, Action::AuditRead];
    for action in review {
        for role in BUILTIN_ROLES {
            let expected: Expected = match role {
                "auditor" => Ok(&["auditor-review"]),
                "security-admin" => Ok(&["security-admin-review"]),
                "admin" => Ok(&["admin-workspace"]),
                _ => Err(&[]),
            };
            check(&engine, &user(role), action, &ws, &mfa(), expected);
        }
    }
    let operator_only = [
        Action::KeysRotate,
        Action::AuditVerify,
        Action::AuditCheckpoint,
        Action::AuditPrune,
        Action::AuditExport,
    ];
    for action in operator_only {
        for role in BUILTIN_ROLES {
            check(
                &engine,
                &user(role),
                action,
                &ws,
                &mfa(),
                Err(&["operator-only"]),
            );
        }
        check(
            &engine,
            &operator(),
            action,
            &ws,
            &no_mfa(),
            Ok(&["operator"]),
        );
    }
    for role in BUILTIN_ROLES.into_iter().chain(["no-such-role"]) {
        let who = user(role);
        check(
            &engine,
            &who,
            Action::Authenticate,
            &ws,
            &no_mfa(),
            Ok(&["authenticate"]),
        );
        for action in [
            Action::TokenCreate,
            Action::TokenRevoke,
            Action::TokenRotate,
        ] {
            let expected: Expected = match role {
                "admin" => Ok(&["admin-principals", "self-service"]),
                "security-admin" if action == Action::TokenRevoke => {
                    Ok(&["security-admin-review", "self-service"])
                }
                _ => Ok(&["self-service"]),
            };
            // Managing one's own tokens needs no MFA.
            check(&engine, &who, action, &me(), &no_mfa(), expected);
        }
        check(
            &engine,
            &who,
            Action::MfaEnroll,
            &me(),
            &no_mfa(),
            Ok(&["self-service"]),
        );
    }
}

#[test]
fn explanations_show_both_effects() {
    let engine = PolicyEngine::builtin().unwrap();
    let e = engine.explain(
        &user("security-admin"),
        Action::FileRead,
        &file(Tier::Restricted, "u9"),
        &no_mfa(),
    );
    assert!(!e.decision.is_allowed());
    assert_eq!(e.permitted_by, ["security-admin-files"]);
    assert_eq!(e.forbidden_by, ["mfa-restricted-read"]);
    assert!(!e.considered.contains(&"viewer-read".to_owned()));
    let text = e.to_string();
    assert!(
        text.starts_with(
            "DENY file.read: forbidden by policy mfa-restricted-read: this action needs MFA"
        ),
        "{text}"
    );
    for needle in [
        "principal: User::\"u1\"",
        "tier restricted",
        "matching permits: security-admin-files",
        "mfa",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}

#[test]
fn the_engine_is_shareable() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<PolicyEngine>();
    assert!(!covault_policy::schema_text().is_empty());
    let engine = PolicyEngine::builtin().unwrap();
    assert!(engine.warnings().is_empty(), "{:?}", engine.warnings());
    assert!(
        engine.policies().iter().all(|p| !p.id.contains('#')),
        "every built-in has an @id"
    );
}
