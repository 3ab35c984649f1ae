//! Shared helpers for the policy integration tests: principals, resources, facts, and
//! `check`, which asserts a decision, the policies behind it, its reason's shape, and that the
//! reference path (whole policy set, schema-validated entities) agrees.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use covault_policy::{
    Action, Decision, EngineOptions, PolicyEngine, PolicyError, PolicySource, Principal,
    PrincipalKind, RequestFacts, Resource, Tier,
};

pub const R: [Action; 4] = [
    Action::FileRead,
    Action::FileList,
    Action::FileStat,
    Action::FileHistory,
];
pub const W: [Action; 3] = [Action::FileWrite, Action::FileRestore, Action::FileDelete];

pub fn principal(kind: PrincipalKind, role: &str) -> Principal {
    Principal {
        id: "u1".into(),
        name: "Una".into(),
        kind,
        role: role.into(),
        enabled: true,
        groups: Vec::new(),
        group_roles: Vec::new(),
        mfa_enrolled: true,
    }
}

pub fn user(role: &str) -> Principal {
    principal(PrincipalKind::User, role)
}

pub fn operator() -> Principal {
    principal(PrincipalKind::Operator, "operator")
}

pub fn file(tier: Tier, owner: &str) -> Resource {
    Resource::Path {
        path: "/docs/report.txt".into(),
        tier: Some(tier),
        owner: Some(owner.into()),
    }
}

pub fn provider(clearance: Tier) -> Resource {
    Resource::Provider {
        name: "anthropic".into(),
        clearance,
    }
}

pub fn other() -> Resource {
    Resource::Principal { id: "u2".into() }
}

pub fn me() -> Resource {
    Resource::Principal { id: "u1".into() }
}

pub fn mfa() -> RequestFacts<'static> {
    RequestFacts {
        mfa: true,
        new_tier: Some(Tier::Restricted),
        data_tier: Some(Tier::Internal),
        ..RequestFacts::default()
    }
}

pub fn no_mfa() -> RequestFacts<'static> {
    RequestFacts {
        mfa: false,
        ..mfa()
    }
}

/// `Ok(permits)` for an allow, `Err(forbids)` for a deny (empty: nothing permitted).
pub type Expected<'a> = Result<&'a [&'a str], &'a [&'a str]>;

#[track_caller]
pub fn check(
    engine: &PolicyEngine,
    who: &Principal,
    action: Action,
    resource: &Resource,
    facts: &RequestFacts<'_>,
    expected: Expected<'_>,
) {
    let decision = engine.decide(who, action, resource, facts);
    let context = format!(
        "{} `{}` {action} {resource:?} mfa={}",
        who.role, who.id, facts.mfa
    );
    match (&decision, expected) {
        (Decision::Allow(permit), Ok(ids)) => {
            assert_eq!(permit.policies(), ids, "{context}: permitting policies");
            assert_eq!(permit.action(), action);
        }
        (Decision::Deny(denial), Err(ids)) => {
            assert_eq!(denial.policies, ids, "{context}: {}", denial.reason);
            if ids.is_empty() {
                assert!(
                    denial
                        .reason
                        .starts_with(&format!("no policy permits {action} for role(s)")),
                    "{context}: {}",
                    denial.reason
                );
            } else {
                assert!(
                    denial
                        .reason
                        .starts_with(&format!("forbidden by policy {}", ids.join(", "))),
                    "{context}: {}",
                    denial.reason
                );
            }
        }
        (got, want) => panic!("{context}: expected {want:?}, got {got:?}"),
    }
    let reference = engine.decide_reference(who, action, resource, facts);
    assert_eq!(
        reference.is_allowed(),
        decision.is_allowed(),
        "{context}: reference path disagrees: {reference:?}"
    );
    assert_eq!(
        reference.policies(),
        decision.policies(),
        "{context}: reference policies"
    );
}

pub fn load(files: &[(&str, &str)], options: &EngineOptions) -> Result<PolicyEngine, PolicyError> {
    let sources: Vec<PolicySource> = files
        .iter()
        .map(|(n, t)| PolicySource::new(*n, *t))
        .collect();
    PolicyEngine::load(&sources, options)
}
