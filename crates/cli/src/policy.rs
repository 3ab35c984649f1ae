//! `covault policy`: validate the policy files against the schema, explain one decision,
//! run a corpus of requests with expected decisions, print the schema. Local: it reads the
//! data directory's configuration and policy files, never the store.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use covault_guard::AccessOptions;
use covault_policy::{
    Action, PolicyEngine, Principal, PrincipalKind, RequestFacts, Resource, Tier, parse_corpus,
    run_corpus, schema_text,
};

use crate::args::{DataArgs, PolicyCommand};
use crate::client::print_line;
use crate::config::Config;

fn access_options(data: &DataArgs, dir: Option<PathBuf>) -> anyhow::Result<AccessOptions> {
    let data_dir = crate::local::data_dir(data)?;
    let mut access = Config::load(&data_dir)?.limits.access;
    if let Some(dir) = dir {
        access.policy_dir = Some(dir);
    }
    Ok(access)
}

fn engine(data: &DataArgs, dir: Option<PathBuf>) -> anyhow::Result<PolicyEngine> {
    let access = access_options(data, dir)?;
    covault_guard::load_policies(&access).map_err(|e| anyhow::anyhow!("{e}"))
}

pub fn run(command: PolicyCommand) -> anyhow::Result<ExitCode> {
    match command {
        PolicyCommand::Schema => {
            print_line(schema_text());
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Validate { data, dir } => {
            let engine = match engine(&data, dir) {
                Ok(engine) => engine,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    return Ok(ExitCode::from(2));
                }
            };
            for warning in engine.warnings() {
                eprintln!("warning: {warning}");
            }
            print_line(&format!(
                "{:<32} {:<8} {:<16} SOURCE",
                "ID", "EFFECT", "ROLE"
            ));
            let policies = engine.policies();
            for p in &policies {
                print_line(&format!(
                    "{:<32} {:<8} {:<16} {}",
                    p.id,
                    format!("{:?}", p.effect).to_lowercase(),
                    p.role.as_deref().unwrap_or("-"),
                    p.source
                ));
            }
            eprintln!(
                "{} policies loaded and valid against the schema",
                policies.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Check {
            principal,
            action,
            resource,
            mfa,
            new_tier,
            data_tier,
            data,
            dir,
        } => {
            let engine = engine(&data, dir)?;
            let principal = parse_principal(&principal)?;
            let action = Action::parse(&action).with_context(|| {
                format!("unknown action `{action}` (`covault policy schema` lists them)")
            })?;
            let resource = parse_resource(&resource)?;
            let facts = RequestFacts {
                mfa,
                new_tier: new_tier.as_deref().map(str::parse).transpose()?,
                data_tier: data_tier.as_deref().map(str::parse).transpose()?,
                ..RequestFacts::default()
            };
            let explanation = engine.explain(&principal, action, &resource, &facts);
            print_line(&explanation.to_string());
            Ok(if explanation.decision.is_allowed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        PolicyCommand::Test { corpus, data, dir } => {
            let engine = engine(&data, dir)?;
            let files = corpus_files(&corpus)?;
            let (mut passed, mut failed) = (0usize, 0usize);
            for file in &files {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("reading {}", file.display()))?;
                let name = file.display().to_string();
                let cases = parse_corpus(&name, &text).map_err(|e| anyhow::anyhow!("{e}"))?;
                for result in run_corpus(&engine, &cases) {
                    if result.passed {
                        passed += 1;
                    } else {
                        failed += 1;
                        print_line(&format!(
                            "FAIL {name}: {}: expected {}, got {} ({})",
                            result.name, result.expected, result.got, result.reason
                        ));
                    }
                }
            }
            print_line(&format!("policy tests: {passed} passed, {failed} failed"));
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn corpus_files(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("reading {}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no *.toml corpus files in {}", path.display());
    }
    Ok(files)
}

/// `role:editor+analyst,kind=service,id=usr_1,disabled,mfa-enrolled,group=eng`.
fn parse_principal(spec: &str) -> anyhow::Result<Principal> {
    let mut parts = spec.split(',');
    let head = parts.next().unwrap_or_default();
    let roles = head
        .strip_prefix("role:")
        .with_context(|| format!("--principal `{spec}` must start with role:NAME"))?;
    let mut roles = roles.split('+').map(str::to_owned);
    let role = roles.next().unwrap_or_default();
    let mut principal = Principal {
        id: "usr_check".into(),
        name: "check".into(),
        kind: PrincipalKind::User,
        role,
        enabled: true,
        groups: Vec::new(),
        group_roles: roles.collect(),
        mfa_enrolled: false,
    };
    for part in parts {
        match part.split_once('=') {
            Some(("kind", "service")) => principal.kind = PrincipalKind::Service,
            Some(("kind", "user")) => principal.kind = PrincipalKind::User,
            Some(("kind", "operator")) => principal.kind = PrincipalKind::Operator,
            Some(("id", id)) => principal.id = id.to_owned(),
            Some(("group", g)) => principal.groups.push(g.to_owned()),
            None if part == "disabled" => principal.enabled = false,
            None if part == "mfa-enrolled" => principal.mfa_enrolled = true,
            _ => bail!("unknown principal attribute `{part}`"),
        }
    }
    Ok(principal)
}

/// `file:/path?tier=restricted&owner=usr_1`, `workspace`, `principal:usr_1`,
/// `provider:NAME?clearance=confidential`.
fn parse_resource(spec: &str) -> anyhow::Result<Resource> {
    let (head, query) = spec.split_once('?').unwrap_or((spec, ""));
    let mut params = std::collections::HashMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair
            .split_once('=')
            .with_context(|| format!("`{pair}` in --resource is not key=value"))?;
        params.insert(k, v);
    }
    let tier = |key: &str| -> anyhow::Result<Option<Tier>> {
        params
            .get(key)
            .map(|v| v.parse::<Tier>())
            .transpose()
            .map_err(Into::into)
    };
    if head == "workspace" {
        return Ok(Resource::Workspace);
    }
    if let Some(path) = head.strip_prefix("file:") {
        return Ok(Resource::Path {
            path: path.to_owned(),
            tier: tier("tier")?,
            owner: params.get("owner").map(|s| (*s).to_owned()),
        });
    }
    if let Some(id) = head.strip_prefix("principal:") {
        return Ok(Resource::Principal { id: id.to_owned() });
    }
    if let Some(name) = head.strip_prefix("provider:") {
        return Ok(Resource::Provider {
            name: name.to_owned(),
            clearance: tier("clearance")?.unwrap_or(Tier::Public),
        });
    }
    bail!(
        "--resource `{spec}`: use file:/path?tier=…, workspace, principal:ID or provider:NAME?clearance=…"
    )
}
