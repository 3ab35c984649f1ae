//! Policy decisions per second on one thread: a realistic request mix over the built-in
//! policies, then with 50 custom policies loaded, each side by side with the reference path
//! (the whole policy set, entities and request validated against the schema per call), which
//! is what a naive engine does.
//!
//! Run: `cargo bench -p covault-policy --bench decisions` (release profile). Figures go to
//! `bench/RESULTS.md` with this command. `cargo bench -p covault-policy --bench decisions --
//! sliced` measures only the engine's own path (for profiling it, e.g. under `perf record`).
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use covault_policy::{
    Action, EngineOptions, PolicyEngine, PolicySource, Principal, PrincipalKind, RequestFacts,
    Resource, Tier, TokenScope,
};

/// How long each measurement runs.
const RUN: Duration = Duration::from_secs(2);

fn principal(id: &str, kind: PrincipalKind, role: &str, group_roles: &[&str]) -> Principal {
    Principal {
        id: id.into(),
        name: id.into(),
        kind,
        role: role.into(),
        enabled: true,
        groups: if group_roles.is_empty() {
            Vec::new()
        } else {
            vec!["staff".into()]
        },
        group_roles: group_roles.iter().map(|r| (*r).to_owned()).collect(),
        mfa_enrolled: true,
    }
}

fn file(path: &str, tier: Tier, owner: &str) -> Resource {
    Resource::Path {
        path: path.into(),
        tier: Some(tier),
        owner: Some(owner.into()),
    }
}

struct Case {
    principal: Principal,
    action: Action,
    resource: Resource,
    mfa: bool,
    scoped: bool,
    data_tier: Option<Tier>,
    new_tier: Option<Tier>,
}

/// Mostly file traffic by editors and viewers, some through scoped tokens, some AI sends,
/// authentication, audit reads and token self-service.
fn mix() -> Vec<Case> {
    let editor = principal("u1", PrincipalKind::User, "editor", &[]);
    let viewer = principal("u2", PrincipalKind::User, "viewer", &[]);
    let analyst = principal("u3", PrincipalKind::User, "analyst", &["team-7"]);
    let admin = principal("u4", PrincipalKind::User, "admin", &[]);
    let service = principal("s1", PrincipalKind::Service, "editor", &["team-3"]);
    let auditor = principal("u5", PrincipalKind::User, "auditor", &[]);
    let case = |p: &Principal, action, resource| Case {
        principal: p.clone(),
        action,
        resource,
        mfa: false,
        scoped: false,
        data_tier: None,
        new_tier: None,
    };
    let mut cases = Vec::new();
    for (i, tier) in Tier::ALL.into_iter().enumerate() {
        let path = format!("/teams/{i}/notes-{i}.md");
        for p in [&editor, &viewer, &service] {
            cases.push(case(p, Action::FileRead, file(&path, tier, "u9")));
            cases.push(case(p, Action::FileStat, file(&path, tier, "u1")));
            cases.push(case(
                p,
                Action::FileList,
                file("/teams", Tier::Public, "u9"),
            ));
        }
        cases.push(case(&editor, Action::FileWrite, file(&path, tier, "u1")));
        cases.push(Case {
            scoped: true,
            ..case(&service, Action::FileWrite, file(&path, tier, "u9"))
        });
        cases.push(Case {
            new_tier: Some(Tier::Restricted),
            ..case(&editor, Action::FileLabel, file(&path, tier, "u9"))
        });
        cases.push(Case {
            data_tier: Some(tier),
            ..case(
                &analyst,
                Action::AiSend,
                Resource::Provider {
                    name: "anthropic".into(),
                    clearance: Tier::Confidential,
                },
            )
        });
        cases.push(case(&analyst, Action::FileRead, file(&path, tier, "u9")));
        cases.push(Case {
            mfa: true,
            ..case(&admin, Action::FileRead, file(&path, tier, "u9"))
        });
    }
    cases.push(case(&editor, Action::Authenticate, Resource::Workspace));
    cases.push(case(&service, Action::Authenticate, Resource::Workspace));
    cases.push(case(&auditor, Action::AuditRead, Resource::Workspace));
    cases.push(case(
        &editor,
        Action::TokenList,
        Resource::Principal { id: "u1".into() },
    ));
    cases.push(case(
        &viewer,
        Action::FileDelete,
        file("/teams/1/x", Tier::Internal, "u9"),
    ));
    cases
}

/// 50 custom policies: 40 team grants (a role each) and 10 legal-hold forbids.
fn custom_policies() -> PolicySource {
    let mut text = String::new();
    for i in 0..40 {
        text.push_str(&format!(
            "@id(\"team-{i}\") @role(\"team-{i}\")\npermit (principal in Role::\"team-{i}\", \
             action in [Action::\"file.read\", Action::\"file.write\", Action::\"file.list\"], \
             resource is File)\nwhen {{ resource.path like \"/teams/{i}/*\" && resource.tier <= 2 }};\n\n"
        ));
    }
    for i in 0..10 {
        text.push_str(&format!(
            "@id(\"legal-hold-{i}\")\nforbid (principal, action in [Action::\"file.delete\", \
             Action::\"file.purge\", Action::\"file.write\"], resource is File)\n\
             when {{ resource.path like \"/legal-hold/{i}/*\" }};\n\n"
        ));
    }
    PolicySource::new("custom.cedar", text)
}

/// Decisions per second of `decide` over the mix, and how many were allowed.
fn measure(
    cases: &[Case],
    scope: &TokenScope,
    decide: impl Fn(&Principal, Action, &Resource, &RequestFacts<'_>) -> bool,
) -> (f64, usize) {
    let facts: Vec<RequestFacts<'_>> = cases
        .iter()
        .map(|c| RequestFacts {
            mfa: c.mfa,
            remote_ip: Some("10.1.2.3".parse().unwrap()),
            scope: c.scoped.then_some(scope),
            new_tier: c.new_tier,
            data_tier: c.data_tier,
            model: c.data_tier.map(|_| "claude-small"),
        })
        .collect();
    let allowed = cases
        .iter()
        .zip(&facts)
        .filter(|(c, f)| decide(&c.principal, c.action, &c.resource, f))
        .count();
    let start = Instant::now();
    let mut decisions = 0u64;
    while start.elapsed() < RUN {
        for (c, f) in cases.iter().zip(&facts) {
            black_box(decide(
                black_box(&c.principal),
                c.action,
                black_box(&c.resource),
                f,
            ));
        }
        decisions += cases.len() as u64;
    }
    (decisions as f64 / start.elapsed().as_secs_f64(), allowed)
}

fn report(label: &str, engine: &PolicyEngine, cases: &[Case], scope: &TokenScope) {
    let (fast, allowed) = measure(cases, scope, |p, a, r, f| {
        engine.decide(p, a, r, f).is_allowed()
    });
    if std::env::args().any(|a| a == "sliced") {
        println!("{label:<34} sliced {fast:>9.0}/s ({:>5.2} µs)", 1e6 / fast);
        return;
    }
    let (naive, naive_allowed) = measure(cases, scope, |p, a, r, f| {
        engine.decide_reference(p, a, r, f).is_allowed()
    });
    assert_eq!(allowed, naive_allowed, "the reference path disagrees");
    println!(
        "{label:<34} {:>6} policies  sliced {:>9.0}/s ({:>5.2} µs)  naive {:>8.0}/s ({:>6.2} µs)  ×{:.1}",
        engine.policies().len(),
        fast,
        1e6 / fast,
        naive,
        1e6 / naive,
        fast / naive
    );
}

fn main() {
    let cases = mix();
    let scope = TokenScope {
        actions: vec!["file.*".into()],
        paths: vec!["/teams".into()],
        max_tier: Some(Tier::Confidential),
        ..TokenScope::default()
    };
    println!(
        "policy decisions, one thread, {} requests in the mix, {}s per figure",
        cases.len(),
        RUN.as_secs()
    );
    let builtin = PolicyEngine::builtin().unwrap();
    report("built-in policies", &builtin, &cases, &scope);
    let custom = PolicyEngine::load(&[custom_policies()], &EngineOptions::default()).unwrap();
    report("built-in + 50 custom policies", &custom, &cases, &scope);
}
