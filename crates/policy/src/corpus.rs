//! Policy test corpora (`covault policy test DIR`): TOML files of cases, each a request with
//! the decision it must get and, optionally, the policies that must decide it. Parsing is
//! strict (unknown fields are errors, so a typo cannot silently weaken a case); running a
//! corpus is pure. Finding and reading the files is the caller's business.
//!
//! ```toml
//! [[case]]
//! name = "editors read confidential files"
//! principal = { kind = "user", role = "editor", id = "u1" }
//! action = "file.read"
//! resource = { type = "file", path = "/a.txt", tier = "confidential", owner = "u9" }
//! context = { mfa = false, scope = { max_tier = "internal" } }
//! expect = "deny"
//! expect_policies = ["token-scope-tier"]
//! ```

use std::fmt;
use std::net::IpAddr;

use serde::Deserialize;

use crate::{
    Action, Decision, PolicyEngine, PolicyError, Principal, PrincipalKind, RequestFacts, Resource,
    Tier, TokenScope,
};

/// The decision a case expects or got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expectation {
    Allow,
    Deny,
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expectation::Allow => "allow",
            Expectation::Deny => "deny",
        })
    }
}

/// One parsed case.
#[derive(Clone, Debug)]
pub struct CorpusCase {
    pub name: String,
    pub principal: Principal,
    pub action: Action,
    pub resource: Resource,
    pub mfa: bool,
    pub remote_ip: Option<IpAddr>,
    pub scope: Option<TokenScope>,
    pub new_tier: Option<Tier>,
    pub data_tier: Option<Tier>,
    pub model: Option<String>,
    pub expect: Expectation,
    /// The policies that must decide it (permits for an allow, forbids for a deny; empty for
    /// "nothing permits"), compared as a set.
    pub expect_policies: Option<Vec<String>>,
}

impl CorpusCase {
    /// The request facts the case describes.
    pub fn facts(&self) -> RequestFacts<'_> {
        RequestFacts {
            mfa: self.mfa,
            remote_ip: self.remote_ip,
            scope: self.scope.as_ref(),
            new_tier: self.new_tier,
            data_tier: self.data_tier,
            model: self.model.as_deref(),
        }
    }
}

/// How one case went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseResult {
    pub name: String,
    pub passed: bool,
    pub expected: Expectation,
    pub got: Expectation,
    /// The policies behind the decision.
    pub policies: Vec<String>,
    /// The deny reason, or which policies permitted; and what did not match, on failure.
    pub reason: String,
}

impl fmt::Display for CaseResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.passed {
            write!(f, "ok    {}", self.name)
        } else {
            write!(f, "FAIL  {}: {}", self.name, self.reason)
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCorpus {
    #[serde(default)]
    case: Vec<RawCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    name: String,
    principal: RawPrincipal,
    action: String,
    resource: RawResource,
    #[serde(default)]
    context: RawContext,
    expect: Expectation,
    expect_policies: Option<Vec<String>>,
}

fn default_kind() -> PrincipalKind {
    PrincipalKind::User
}

fn default_id() -> String {
    "u1".to_owned()
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrincipal {
    #[serde(default = "default_kind")]
    kind: PrincipalKind,
    #[serde(default)]
    role: String,
    #[serde(default = "default_id")]
    id: String,
    name: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    group_roles: Vec<String>,
    #[serde(default)]
    mfa_enrolled: bool,
    #[serde(default = "yes")]
    enabled: bool,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum RawResource {
    File {
        path: String,
        tier: Option<Tier>,
        owner: Option<String>,
    },
    Workspace,
    Principal {
        id: String,
    },
    Provider {
        name: String,
        clearance: Tier,
    },
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContext {
    #[serde(default)]
    mfa: bool,
    ip: Option<IpAddr>,
    new_tier: Option<Tier>,
    data_tier: Option<Tier>,
    model: Option<String>,
    scope: Option<TokenScope>,
}

/// Parses a corpus; `name` (the file name) is used in messages.
pub fn parse_corpus(name: &str, text: &str) -> Result<Vec<CorpusCase>, PolicyError> {
    let raw: RawCorpus = toml::from_str(text).map_err(|e| PolicyError::CorpusSyntax {
        file: name.to_owned(),
        message: e.to_string().trim_end().replace('\n', " "),
    })?;
    raw.case
        .into_iter()
        .map(|case| convert(name, case))
        .collect()
}

fn convert(file: &str, raw: RawCase) -> Result<CorpusCase, PolicyError> {
    let fail = |message: String| PolicyError::CorpusCase {
        file: file.to_owned(),
        case: raw.name.clone(),
        message,
    };
    let action = Action::parse(&raw.action).ok_or_else(|| {
        fail(format!(
            "unknown action `{}`: see `covault policy actions`",
            raw.action
        ))
    })?;
    if let Some(scope) = &raw.context.scope {
        scope.validate().map_err(|e| fail(e.to_string()))?;
    }
    let p = raw.principal;
    let principal = Principal {
        name: p.name.unwrap_or_else(|| p.id.clone()),
        id: p.id,
        kind: p.kind,
        role: p.role,
        enabled: p.enabled,
        groups: p.groups,
        group_roles: p.group_roles,
        mfa_enrolled: p.mfa_enrolled,
    };
    let resource = match raw.resource {
        RawResource::File { path, tier, owner } => Resource::Path { path, tier, owner },
        RawResource::Workspace => Resource::Workspace,
        RawResource::Principal { id } => Resource::Principal { id },
        RawResource::Provider { name, clearance } => Resource::Provider { name, clearance },
    };
    let c = raw.context;
    Ok(CorpusCase {
        name: raw.name,
        principal,
        action,
        resource,
        mfa: c.mfa,
        remote_ip: c.ip,
        scope: c.scope,
        new_tier: c.new_tier,
        data_tier: c.data_tier,
        model: c.model,
        expect: raw.expect,
        expect_policies: raw.expect_policies,
    })
}

/// Runs every case against `engine`.
pub fn run_corpus(engine: &PolicyEngine, cases: &[CorpusCase]) -> Vec<CaseResult> {
    cases.iter().map(|case| run_case(engine, case)).collect()
}

fn run_case(engine: &PolicyEngine, case: &CorpusCase) -> CaseResult {
    let decision = engine.decide(&case.principal, case.action, &case.resource, &case.facts());
    let policies = decision.policies().to_vec();
    let (got, said) = match &decision {
        Decision::Allow(permit) => (
            Expectation::Allow,
            format!("permitted by {}", permit.policies().join(", ")),
        ),
        Decision::Deny(denial) => (Expectation::Deny, denial.reason.clone()),
    };
    let mut problems = Vec::new();
    if got != case.expect {
        problems.push(format!("expected {}, got {got}", case.expect));
    }
    if let Some(expected) = &case.expect_policies {
        let mut want = expected.clone();
        want.sort();
        let mut have = policies.clone();
        have.sort();
        if want != have {
            problems.push(format!(
                "expected policies [{}], got [{}]",
                want.join(", "),
                have.join(", ")
            ));
        }
    }
    let passed = problems.is_empty();
    let reason = if passed {
        said
    } else {
        format!("{} ({said})", problems.join("; "))
    };
    CaseResult {
        name: case.name.clone(),
        passed,
        expected: case.expect,
        got,
        policies,
        reason,
    }
}
