//! Loading policies: bad files are refused with messages naming the file, policy and line;
//! custom roles and `<file>#<n>` ids; disabling and replacing built-ins; custom policies that
//! read groups and roles; and policies that fail at run time, which never grant.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use covault_policy::{Action, BUILTIN_ROLES, Decision, EngineOptions, PolicyError, Resource, Tier};
use support::*;

#[test]
fn bad_policy_files_are_refused_precisely() {
    let options = EngineOptions::default();
    let syntax = "// reviewers\n@id(\"r\")\npermit (principal, action, resource) when { resource.tier <= };\n";
    let err = load(&[("reviewers.cedar", syntax)], &options)
        .err()
        .unwrap();
    let message = err.to_string();
    assert!(
        matches!(&err, PolicyError::Syntax { file, location: Some(l), .. } if file == "reviewers.cedar" && l.line == 3),
        "{err:?}"
    );
    assert!(
        message.starts_with("syntax error in `reviewers.cedar` at line 3, column"),
        "{message}"
    );

    let unknown = "@id(\"colour\")\npermit (principal, action == Action::\"file.read\", resource is File)\n  when { resource.colour == \"red\" };\n";
    let err = load(&[("colour.cedar", unknown)], &options).err().unwrap();
    let message = err.to_string();
    assert!(
        matches!(&err, PolicyError::Invalid { file, policy, location: Some(l), .. } if file == "colour.cedar" && policy == "colour" && l.line == 3),
        "{err:?}"
    );
    assert!(message.contains("colour"), "{message}");

    let bad_action = "@id(\"typo\") permit (principal, action == Action::\"file.reed\", resource);";
    let err = load(&[("typo.cedar", bad_action)], &options).err().unwrap();
    assert!(
        matches!(&err, PolicyError::Invalid { file, .. } if file == "typo.cedar"),
        "{err:?}"
    );
    assert!(err.to_string().contains("file.reed"), "{err}");

    let dup = "@id(\"viewer-read\") permit (principal, action == Action::\"file.read\", resource);";
    let err = load(&[("mine.cedar", dup)], &options).err().unwrap();
    assert_eq!(
        err.to_string(),
        "duplicate policy id `viewer-read` in `mine.cedar` (already used in `defaults.cedar`): give every policy a unique @id, or disable the built-in one"
    );
    let a = "@id(\"x\") permit (principal, action == Action::\"file.read\", resource);";
    let err = load(&[("a.cedar", a), ("b.cedar", a)], &options)
        .err()
        .unwrap();
    assert!(
        matches!(&err, PolicyError::DuplicateId { id, first, second } if id == "x" && first == "a.cedar" && second == "b.cedar")
    );

    // A forbid that can never match is a hole its author believes closed.
    let never = "\n@id(\"never\")\nforbid (principal, action == Action::\"file.read\", resource is Workspace);";
    let err = load(&[("never.cedar", never)], &options).err().unwrap();
    assert!(
        matches!(&err, PolicyError::Invalid { file, policy, location: Some(l), .. } if file == "never.cedar" && policy == "never" && l.line == 2),
        "{err:?}"
    );

    let template = "permit (principal == ?principal, action, resource);";
    let err = load(&[("t.cedar", template)], &options).err().unwrap();
    assert!(
        matches!(&err, PolicyError::Template { file } if file == "t.cedar"),
        "{err:?}"
    );

    let options = EngineOptions {
        disabled_builtin: vec!["no-such-policy".into()],
        ..EngineOptions::default()
    };
    let err = load(&[], &options).err().unwrap();
    assert!(matches!(&err, PolicyError::UnknownBuiltin { id } if id == "no-such-policy"));
}

#[test]
fn custom_roles_ids_and_disabled_builtins() {
    let reviewers = r#"
@id("reviewers")
@role("reviewer")
permit (principal in Role::"reviewer", action == Action::"file.read", resource is File)
when { resource.tier <= 1 };

// No @id: named after the file and position.
permit (principal in Role::"auditor", action == Action::"file.stat", resource is File);
"#;
    let engine = load(&[("reviewers.cedar", reviewers)], &EngineOptions::default()).unwrap();
    assert!(engine.roles().contains(&"reviewer".to_owned()));
    assert_eq!(engine.roles().len(), BUILTIN_ROLES.len() + 1);
    assert_eq!(engine.role_of("reviewers"), Some("reviewer"));
    assert_eq!(engine.role_of("viewer-read"), Some("viewer"));
    assert_eq!(engine.role_of("disabled-principal"), None);
    let info = engine
        .policies()
        .into_iter()
        .find(|p| p.id == "reviewers.cedar#2")
        .unwrap();
    assert_eq!(info.source, "reviewers.cedar");
    assert!(info.text.contains("file.stat"));
    let reviewer = user("reviewer");
    check(
        &engine,
        &reviewer,
        Action::FileRead,
        &file(Tier::Internal, "u9"),
        &mfa(),
        Ok(&["reviewers"]),
    );
    check(
        &engine,
        &reviewer,
        Action::FileRead,
        &file(Tier::Confidential, "u9"),
        &mfa(),
        Err(&[]),
    );
    check(
        &engine,
        &user("auditor"),
        Action::FileStat,
        &file(Tier::Restricted, "u9"),
        &mfa(),
        Ok(&["reviewers.cedar#2"]),
    );

    // Disable a built-in, and replace it under the same id.
    let options = EngineOptions {
        disabled_builtin: vec!["viewer-read".into(), "mfa-purge".into()],
        ..EngineOptions::default()
    };
    let engine = load(&[], &options).unwrap();
    check(
        &engine,
        &user("viewer"),
        Action::FileRead,
        &file(Tier::Public, "u9"),
        &mfa(),
        Err(&[]),
    );
    check(
        &engine,
        &user("admin"),
        Action::FilePurge,
        &file(Tier::Public, "u9"),
        &no_mfa(),
        Ok(&["admin-files"]),
    );
    let stricter = "@id(\"viewer-read\") @role(\"viewer\") permit (principal in Role::\"viewer\", action == Action::\"file.read\", resource is File) when { resource.tier == 0 };";
    let engine = load(&[("viewer.cedar", stricter)], &options).unwrap();
    check(
        &engine,
        &user("viewer"),
        Action::FileRead,
        &file(Tier::Public, "u9"),
        &mfa(),
        Ok(&["viewer-read"]),
    );
    check(
        &engine,
        &user("viewer"),
        Action::FileRead,
        &file(Tier::Internal, "u9"),
        &mfa(),
        Err(&[]),
    );

    // No built-ins at all: only what the files say (and no forbids).
    let engine = load(
        &[("reviewers.cedar", reviewers)],
        &EngineOptions::without_builtin(),
    )
    .unwrap();
    assert_eq!(engine.policies().len(), 2);
    check(
        &engine,
        &user("admin"),
        Action::FileRead,
        &file(Tier::Public, "u9"),
        &mfa(),
        Err(&[]),
    );
}

#[test]
fn an_erroring_policy_never_grants() {
    // The validator accepts these; they overflow at run time for any tier above public.
    let overflow = r#"
@id("overflow-permit")
permit (principal in Role::"nobody", action == Action::"file.read", resource is File)
when { resource.tier + 9223372036854775807 > 0 };

@id("overflow-forbid")
forbid (principal in Role::"editor", action == Action::"file.read", resource is File)
when { resource.tier + 9223372036854775807 < 0 };
"#;
    let engine = load(&[("overflow.cedar", overflow)], &EngineOptions::default()).unwrap();
    let nobody = user("nobody");
    check(
        &engine,
        &nobody,
        Action::FileRead,
        &file(Tier::Public, "u9"),
        &mfa(),
        Ok(&["overflow-permit"]),
    );
    let editor = user("editor");
    check(
        &engine,
        &editor,
        Action::FileRead,
        &file(Tier::Public, "u9"),
        &mfa(),
        Ok(&["editor-files"]),
    );
    for who in [&nobody, &editor] {
        let decision = engine.decide(who, Action::FileRead, &file(Tier::Internal, "u9"), &mfa());
        let Decision::Deny(denial) = decision else {
            panic!("{} was allowed through an erroring policy", who.role);
        };
        let id = if who.role == "editor" {
            "overflow-forbid"
        } else {
            "overflow-permit"
        };
        assert_eq!(denial.reason, format!("policy evaluation failed: {id}"));
        assert_eq!(denial.policies, [id]);
        let reference =
            engine.decide_reference(who, Action::FileRead, &file(Tier::Internal, "u9"), &mfa());
        assert!(!reference.is_allowed());
        let explanation =
            engine.explain(who, Action::FileRead, &file(Tier::Internal, "u9"), &mfa());
        assert_eq!(explanation.errors.len(), 1, "{explanation}");
        assert!(explanation.errors[0].starts_with(id), "{explanation}");
    }
}

#[test]
fn custom_policies_may_read_groups_and_roles() {
    // Conditions that look at the principal's ancestors make the engine give it parents.
    let finance = r#"
@id("finance-reports")
permit (principal in Group::"finance", action == Action::"file.read", resource is File)
when { resource.path like "/finance/*" };

@id("leads-delete")
permit (principal, action == Action::"file.delete", resource is File)
when { principal in Role::"lead" && resource.tier <= 1 };
"#;
    let engine = load(&[("finance.cedar", finance)], &EngineOptions::default()).unwrap();
    assert!(engine.roles().contains(&"lead".to_owned()));
    let report = |tier| Resource::Path {
        path: "/finance/q3.xlsx".into(),
        tier: Some(tier),
        owner: Some("u9".into()),
    };
    let mut member = user("nobody");
    member.groups = vec!["finance".into()];
    check(
        &engine,
        &member,
        Action::FileRead,
        &report(Tier::Confidential),
        &mfa(),
        Ok(&["finance-reports"]),
    );
    check(
        &engine,
        &user("nobody"),
        Action::FileRead,
        &report(Tier::Public),
        &mfa(),
        Err(&[]),
    );
    let mut lead = user("viewer");
    lead.group_roles = vec!["lead".into()];
    check(
        &engine,
        &lead,
        Action::FileDelete,
        &report(Tier::Internal),
        &mfa(),
        Ok(&["leads-delete"]),
    );
    check(
        &engine,
        &lead,
        Action::FileDelete,
        &report(Tier::Confidential),
        &mfa(),
        Err(&[]),
    );
    check(
        &engine,
        &user("viewer"),
        Action::FileDelete,
        &report(Tier::Public),
        &mfa(),
        Err(&[]),
    );
    // The operator has no groups.
    let decision = engine.decide(&operator(), Action::FileRead, &report(Tier::Public), &mfa());
    assert!(
        matches!(&decision, Decision::Allow(p) if p.policies() == ["operator"]),
        "{decision:?}"
    );
}

#[test]
fn policies_may_read_the_client_address() {
    let office = r#"
@id("office-only")
forbid (principal, action == Action::"file.read", resource)
unless { context has ip && context.ip.isInRange(ip("10.0.0.0/8")) };
"#;
    let engine = load(&[("office.cedar", office)], &EngineOptions::default()).unwrap();
    let at = |ip: Option<&str>| covault_policy::RequestFacts {
        remote_ip: ip.map(|i| i.parse().unwrap()),
        ..mfa()
    };
    let doc = file(Tier::Public, "u9");
    check(
        &engine,
        &user("viewer"),
        Action::FileRead,
        &doc,
        &at(Some("10.1.2.3")),
        Ok(&["viewer-read"]),
    );
    check(
        &engine,
        &user("viewer"),
        Action::FileRead,
        &doc,
        &at(Some("192.0.2.1")),
        Err(&["office-only"]),
    );
    check(
        &engine,
        &user("viewer"),
        Action::FileRead,
        &doc,
        &at(None),
        Err(&["office-only"]),
    );
}
