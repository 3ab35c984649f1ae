//! The built-in rules that cut across roles, each against the reference path too: owners,
//! MFA, disabled principals, the operator, services, group roles, new files, token scopes and
//! provider clearance, with the reasons they give.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use covault_policy::{
    Action, Decision, PolicyEngine, PrincipalKind, RequestFacts, Resource, Tier, TokenScope,
};
use support::*;

#[test]
fn owners_read_and_write_their_files_at_any_tier() {
    let engine = PolicyEngine::builtin().unwrap();
    let own = |tier| file(tier, "u1");
    let editor = user("editor");
    check(
        &engine,
        &editor,
        Action::FileRead,
        &own(Tier::Restricted),
        &mfa(),
        Ok(&["owner-files"]),
    );
    check(
        &engine,
        &editor,
        Action::FileWrite,
        &own(Tier::Restricted),
        &no_mfa(),
        Ok(&["owner-files"]),
    );
    // The MFA rule still applies to the owner.
    let forbid: Expected = Err(&["mfa-restricted-read"]);
    check(
        &engine,
        &editor,
        Action::FileRead,
        &own(Tier::Restricted),
        &no_mfa(),
        forbid,
    );
    let viewer = user("viewer");
    for action in R.into_iter().chain(W) {
        check(
            &engine,
            &viewer,
            action,
            &own(Tier::Confidential),
            &no_mfa(),
            Ok(&["owner-files"]),
        );
    }
    check(
        &engine,
        &viewer,
        Action::FileRead,
        &own(Tier::Public),
        &mfa(),
        Ok(&["owner-files", "viewer-read"]),
    );
    // Owning a file does not let one purge or relabel it.
    check(
        &engine,
        &viewer,
        Action::FilePurge,
        &own(Tier::Public),
        &mfa(),
        Err(&[]),
    );
    check(
        &engine,
        &viewer,
        Action::FileLabel,
        &own(Tier::Public),
        &mfa(),
        Err(&[]),
    );
    // An unknown role owns nothing but its files.
    check(
        &engine,
        &user("nobody"),
        Action::FileRead,
        &own(Tier::Internal),
        &mfa(),
        Ok(&["owner-files"]),
    );
    check(
        &engine,
        &user("nobody"),
        Action::FileRead,
        &file(Tier::Public, "u9"),
        &mfa(),
        Err(&[]),
    );
}

#[test]
fn mfa_rules() {
    let engine = PolicyEngine::builtin().unwrap();
    let security = user("security-admin");
    let admin = user("admin");
    let restricted = file(Tier::Restricted, "u9");
    check(
        &engine,
        &security,
        Action::FileRead,
        &restricted,
        &no_mfa(),
        Err(&["mfa-restricted-read"]),
    );
    check(
        &engine,
        &security,
        Action::FileWrite,
        &restricted,
        &no_mfa(),
        Ok(&["security-admin-files"]),
    );
    check(
        &engine,
        &security,
        Action::FilePurge,
        &file(Tier::Public, "u9"),
        &no_mfa(),
        Err(&["mfa-purge"]),
    );
    let lower = RequestFacts {
        new_tier: Some(Tier::Internal),
        ..no_mfa()
    };
    check(
        &engine,
        &security,
        Action::FileLabel,
        &restricted,
        &lower,
        Err(&["mfa-label-lower"]),
    );
    let lower_mfa = RequestFacts { mfa: true, ..lower };
    check(
        &engine,
        &security,
        Action::FileLabel,
        &restricted,
        &lower_mfa,
        Ok(&["security-admin-files"]),
    );
    // Raising needs no MFA; editors may only raise.
    let editor = user("editor");
    let confidential = file(Tier::Confidential, "u9");
    check(
        &engine,
        &editor,
        Action::FileLabel,
        &confidential,
        &no_mfa(),
        Ok(&["editor-label-raise"]),
    );
    check(
        &engine,
        &editor,
        Action::FileLabel,
        &confidential,
        &lower_mfa,
        Err(&[]),
    );
    check(
        &engine,
        &editor,
        Action::FileLabel,
        &confidential,
        &lower,
        Err(&["mfa-label-lower"]),
    );
    let admin_changes: Expected = Err(&["mfa-admin-changes"]);
    check(
        &engine,
        &admin,
        Action::PrincipalCreate,
        &Resource::Workspace,
        &no_mfa(),
        admin_changes,
    );
    check(
        &engine,
        &admin,
        Action::PrincipalUpdate,
        &other(),
        &no_mfa(),
        admin_changes,
    );
    check(
        &engine,
        &admin,
        Action::GroupManage,
        &Resource::Workspace,
        &no_mfa(),
        admin_changes,
    );
    check(
        &engine,
        &admin,
        Action::MfaReset,
        &other(),
        &no_mfa(),
        admin_changes,
    );
    check(
        &engine,
        &admin,
        Action::TokenRotate,
        &other(),
        &no_mfa(),
        admin_changes,
    );
    check(
        &engine,
        &security,
        Action::TokenRevoke,
        &other(),
        &no_mfa(),
        admin_changes,
    );
    check(
        &engine,
        &security,
        Action::TokenList,
        &other(),
        &no_mfa(),
        Ok(&["security-admin-review"]),
    );
    check(
        &engine,
        &admin,
        Action::PrincipalList,
        &Resource::Workspace,
        &no_mfa(),
        Ok(&["admin-principals"]),
    );
}

#[test]
fn disabled_principals_and_the_operator() {
    let engine = PolicyEngine::builtin().unwrap();
    let mut disabled = user("admin");
    disabled.enabled = false;
    for action in [Action::Authenticate, Action::AuditRead, Action::TokenList] {
        let resource = if action == Action::TokenList {
            me()
        } else {
            Resource::Workspace
        };
        check(
            &engine,
            &disabled,
            action,
            &resource,
            &mfa(),
            Err(&["disabled-principal"]),
        );
    }
    let reason = match engine.decide(
        &disabled,
        Action::FileRead,
        &file(Tier::Public, "u1"),
        &mfa(),
    ) {
        Decision::Deny(d) => d.reason,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        reason,
        "forbidden by policy disabled-principal: principal is disabled"
    );

    let op = operator();
    for action in Action::ALL {
        let resource = match action.as_str().split('.').next() {
            Some("file") => file(Tier::Restricted, "u9"),
            Some("principal" | "token" | "mfa") => other(),
            Some("ai") => provider(Tier::Restricted),
            _ => Resource::Workspace,
        };
        let expected: Expected = if action == Action::Authenticate {
            Ok(&["authenticate", "operator"])
        } else {
            Ok(&["operator"])
        };
        check(&engine, &op, action, &resource, &no_mfa(), expected);
    }
    // Provider clearance binds even the operator.
    let secret = RequestFacts {
        data_tier: Some(Tier::Restricted),
        ..no_mfa()
    };
    check(
        &engine,
        &op,
        Action::AiSend,
        &provider(Tier::Internal),
        &secret,
        Err(&["provider-clearance", "restricted-never-leaves"]),
    );
}

#[test]
fn services_groups_and_new_files() {
    let engine = PolicyEngine::builtin().unwrap();
    let service = principal(PrincipalKind::Service, "editor");
    check(
        &engine,
        &service,
        Action::FileWrite,
        &file(Tier::Confidential, "u9"),
        &no_mfa(),
        Ok(&["editor-files"]),
    );
    check(
        &engine,
        &service,
        Action::TokenRotate,
        &me(),
        &no_mfa(),
        Ok(&["self-service"]),
    );
    check(
        &engine,
        &service,
        Action::FileRead,
        &file(Tier::Restricted, "u1"),
        &mfa(),
        Ok(&["owner-files"]),
    );

    let mut grouped = user("viewer");
    grouped.groups = vec!["finance".into()];
    grouped.group_roles = vec!["auditor".into(), "editor".into()];
    check(
        &engine,
        &grouped,
        Action::FileRead,
        &file(Tier::Confidential, "u9"),
        &mfa(),
        Ok(&["editor-files"]),
    );
    check(
        &engine,
        &grouped,
        Action::FileRead,
        &file(Tier::Public, "u9"),
        &mfa(),
        Ok(&["editor-files", "viewer-read"]),
    );
    check(
        &engine,
        &grouped,
        Action::AuditRead,
        &Resource::Workspace,
        &mfa(),
        Ok(&["auditor-review"]),
    );
    check(
        &engine,
        &grouped,
        Action::FilePurge,
        &file(Tier::Public, "u9"),
        &mfa(),
        Err(&[]),
    );

    let new_file = Resource::Path {
        path: "/new/plan.txt".into(),
        tier: None,
        owner: None,
    };
    check(
        &engine,
        &user("editor"),
        Action::FileWrite,
        &new_file,
        &no_mfa(),
        Ok(&["editor-files"]),
    );
    check(
        &engine,
        &user("viewer"),
        Action::FileWrite,
        &new_file,
        &no_mfa(),
        Err(&[]),
    );
    check(
        &engine,
        &user("viewer"),
        Action::FileList,
        &new_file,
        &no_mfa(),
        Ok(&["viewer-read"]),
    );

    let denial = engine.decide(
        &user("nobody"),
        Action::FileRead,
        &file(Tier::Public, "u9"),
        &mfa(),
    );
    match denial {
        Decision::Deny(d) => assert_eq!(
            d.reason,
            "no policy permits file.read for role(s) nobody on this resource"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn token_scopes_and_provider_clearance() {
    let engine = PolicyEngine::builtin().unwrap();
    let scope = TokenScope {
        actions: vec!["file.*".into(), "ai.send".into()],
        paths: vec!["/docs".into()],
        max_tier: Some(Tier::Internal),
        providers: vec!["anthropic".into()],
        models: vec!["claude-small".into()],
        ..TokenScope::default()
    };
    let scoped = |facts: RequestFacts<'static>| RequestFacts {
        scope: Some(&scope),
        ..facts
    };
    let editor = user("editor");
    let analyst = user("analyst");
    check(
        &engine,
        &editor,
        Action::FileRead,
        &file(Tier::Internal, "u9"),
        &scoped(no_mfa()),
        Ok(&["editor-files"]),
    );
    check(
        &engine,
        &editor,
        Action::FileRead,
        &file(Tier::Confidential, "u9"),
        &scoped(no_mfa()),
        Err(&["token-scope-tier"]),
    );
    let elsewhere = Resource::Path {
        path: "/hr/salaries.csv".into(),
        tier: Some(Tier::Public),
        owner: None,
    };
    check(
        &engine,
        &editor,
        Action::FileRead,
        &elsewhere,
        &scoped(no_mfa()),
        Err(&["token-scope-path"]),
    );
    check(
        &engine,
        &editor,
        Action::AuditRead,
        &Resource::Workspace,
        &scoped(no_mfa()),
        Err(&["token-scope-action"]),
    );
    // Authentication is always within scope.
    check(
        &engine,
        &editor,
        Action::Authenticate,
        &Resource::Workspace,
        &scoped(no_mfa()),
        Ok(&["authenticate"]),
    );

    let ok_send = RequestFacts {
        model: Some("claude-small"),
        ..scoped(no_mfa())
    };
    let ai = provider(Tier::Confidential);
    check(
        &engine,
        &analyst,
        Action::AiSend,
        &ai,
        &ok_send,
        Ok(&["analyst-ai"]),
    );
    let other_provider = Resource::Provider {
        name: "openai".into(),
        clearance: Tier::Confidential,
    };
    check(
        &engine,
        &analyst,
        Action::AiSend,
        &other_provider,
        &ok_send,
        Err(&["token-scope-provider"]),
    );
    let big = RequestFacts {
        model: Some("claude-big"),
        ..ok_send.clone()
    };
    check(
        &engine,
        &analyst,
        Action::AiSend,
        &ai,
        &big,
        Err(&["token-scope-model"]),
    );
    let no_model = RequestFacts {
        model: None,
        ..ok_send.clone()
    };
    check(
        &engine,
        &analyst,
        Action::AiSend,
        &ai,
        &no_model,
        Err(&["token-scope-model"]),
    );
    let confidential = RequestFacts {
        data_tier: Some(Tier::Confidential),
        ..ok_send.clone()
    };
    check(
        &engine,
        &analyst,
        Action::AiSend,
        &ai,
        &confidential,
        Err(&["token-scope-tier"]),
    );

    // Without a token: clearance alone.
    let restricted = RequestFacts {
        data_tier: Some(Tier::Restricted),
        ..no_mfa()
    };
    check(
        &engine,
        &analyst,
        Action::AiSend,
        &ai,
        &restricted,
        Err(&["provider-clearance", "restricted-never-leaves"]),
    );
    let unknown = RequestFacts {
        data_tier: None,
        ..no_mfa()
    };
    check(
        &engine,
        &user("admin"),
        Action::AiSend,
        &ai,
        &unknown,
        Err(&["provider-clearance"]),
    );
    let reason = match engine.decide(&analyst, Action::AiSend, &ai, &restricted) {
        Decision::Deny(d) => d.reason,
        other => panic!("{other:?}"),
    };
    assert!(
        reason.ends_with("the data's tier is above the provider's clearance"),
        "{reason}"
    );
    let reason = match engine.decide(
        &editor,
        Action::AuditRead,
        &Resource::Workspace,
        &scoped(no_mfa()),
    ) {
        Decision::Deny(d) => d.reason,
        other => panic!("{other:?}"),
    };
    assert!(
        reason.ends_with("the API token's scope does not allow this"),
        "{reason}"
    );
}
