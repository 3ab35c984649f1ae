//! Loading policy texts: parsing each source, naming every policy (its `@id`, or
//! `<file>#<n>`), refusing templates and duplicate ids, dropping disabled built-ins, and
//! validating the whole set against the schema in strict mode. Errors name the file, the
//! policy and, where Cedar gives one, the line and column.
//!
//! The texts come from the caller (the built-in ones are compiled in); nothing here reads a
//! file. Slicing the loaded set for fast decisions is `engine.rs`'s business.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use cedar_policy::{
    Effect, Policy, PolicyId, PolicySet, Schema, ValidationMode, ValidationWarning, Validator,
};
use miette::Diagnostic;

/// The schema every policy is validated against.
const SCHEMA: &str = include_str!("../cedar/schema.cedarschema");
/// covault's built-in policies.
const DEFAULTS: &str = include_str!("../cedar/defaults.cedar");
/// The name the built-in policies are reported under.
pub const BUILTIN_SOURCE: &str = "defaults.cedar";
/// Built-in forbids that configuration cannot switch off (`*`: a family): without them a
/// scoped token, a disabled account or restricted data would no longer be held back.
pub const LOCKED_BUILTIN: [&str; 5] = [
    "operator-only",
    "disabled-principal",
    "token-scope-*",
    "restricted-never-leaves",
    "provider-clearance",
];

/// The Cedar schema text (`covault policy schema`).
pub fn schema_text() -> &'static str {
    SCHEMA
}

/// The built-in policy text (`covault policy defaults`).
pub fn builtin_policies_text() -> &'static str {
    DEFAULTS
}

/// One policy file's text. `name` (the file name) is used in messages and ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicySource {
    pub name: String,
    pub text: String,
}

impl PolicySource {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
        }
    }
}

/// Which built-in policies to load besides the caller's sources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineOptions {
    /// Load the built-in policies (`defaults.cedar`). On by default.
    pub builtin: bool,
    /// Built-in policy ids to drop (a custom file may then reuse the id).
    pub disabled_builtin: Vec<String>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl EngineOptions {
    /// The built-in policies, none disabled.
    pub fn new() -> Self {
        Self {
            builtin: true,
            disabled_builtin: Vec::new(),
        }
    }

    /// Only the caller's sources.
    pub fn without_builtin() -> Self {
        Self {
            builtin: false,
            disabled_builtin: Vec::new(),
        }
    }
}

/// Whether a policy grants or refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PolicyEffect {
    Permit,
    Forbid,
}

impl fmt::Display for PolicyEffect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PolicyEffect::Permit => "permit",
            PolicyEffect::Forbid => "forbid",
        })
    }
}

/// A loaded policy, for listings (`covault policy list`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyInfo {
    pub id: String,
    /// The file it came from (`defaults.cedar` for built-ins).
    pub source: String,
    pub effect: PolicyEffect,
    /// The `@role` annotation.
    pub role: Option<String>,
    /// The policy's text as written.
    pub text: String,
}

/// A position in a policy file, 1-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceLocation {
    pub line: usize,
    pub column: usize,
}

/// ` at line L, column C`, or nothing when Cedar gave no location.
fn at(location: &Option<SourceLocation>) -> String {
    location.map_or_else(String::new, |l| {
        format!(" at line {}, column {}", l.line, l.column)
    })
}

/// Why policies did not load, or a test corpus did not parse.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("the built-in policy schema does not load: {message}")]
    Schema { message: String },
    #[error("syntax error in `{file}`{}: {message}", at(.location))]
    Syntax {
        file: String,
        location: Option<SourceLocation>,
        message: String,
    },
    #[error("policy `{policy}` in `{file}`{} does not validate against the schema: {message}", at(.location))]
    Invalid {
        file: String,
        policy: String,
        location: Option<SourceLocation>,
        message: String,
    },
    #[error(
        "`{file}` contains a policy template (`?principal` or `?resource`): templates are not supported, write static policies"
    )]
    Template { file: String },
    #[error(
        "duplicate policy id `{id}` in `{second}` (already used in `{first}`): give every policy a unique @id, or disable the built-in one"
    )]
    DuplicateId {
        id: String,
        first: String,
        second: String,
    },
    #[error(
        "unknown built-in policy `{id}` in disabled_builtin: see `covault policy list` for the ids"
    )]
    UnknownBuiltin { id: String },
    #[error(
        "built-in policy `{id}` cannot be disabled: it holds back scoped tokens, disabled accounts or restricted data"
    )]
    LockedBuiltin { id: String },
    #[error("test corpus `{file}` does not parse: {message}")]
    CorpusSyntax { file: String, message: String },
    #[error("test corpus `{file}`, case `{case}`: {message}")]
    CorpusCase {
        file: String,
        case: String,
        message: String,
    },
}

/// The 1-based line and column of byte `offset` in `text`.
fn locate(text: &str, offset: usize) -> SourceLocation {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    SourceLocation { line, column }
}

/// The first labelled position of a diagnostic, and its message with Cedar's help appended.
fn describe(diagnostic: &dyn Diagnostic, text: &str) -> (Option<SourceLocation>, String) {
    let location = diagnostic
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|label| locate(text, label.offset()));
    let mut message = diagnostic.to_string();
    // Validation messages open with "for policy `id`, "; ours already name the policy.
    if let Some(rest) = message
        .strip_prefix("for policy `")
        .and_then(|m| m.split_once("`, "))
        .map(|(_, rest)| rest.to_owned())
    {
        message = rest;
    }
    if let Some(help) = diagnostic.help() {
        message = format!("{message} ({help})");
    }
    (location, message)
}

/// A loaded policy with its metadata.
pub(crate) struct Loaded {
    pub policy: Policy,
    pub info: PolicyInfo,
}

/// The parsed schema, and warnings it produced (none expected).
pub(crate) fn parse_schema() -> Result<Schema, PolicyError> {
    Schema::from_cedarschema_str(SCHEMA)
        .map(|(schema, _warnings)| schema)
        .map_err(|e| PolicyError::Schema {
            message: e.to_string(),
        })
}

/// Parses one source; every policy gets its `@id`, or `<file>#<n>` (n counts from 1).
fn parse_source(source: &PolicySource) -> Result<Vec<Loaded>, PolicyError> {
    let set = PolicySet::from_str(&source.text).map_err(|errors| {
        let first = errors.iter().next();
        let (location, message) = match first {
            Some(error) => describe(error, &source.text),
            None => (None, errors.to_string()),
        };
        PolicyError::Syntax {
            file: source.name.clone(),
            location,
            message,
        }
    })?;
    if set.num_of_templates() > 0 {
        return Err(PolicyError::Template {
            file: source.name.clone(),
        });
    }
    let mut numbered: Vec<(usize, &Policy)> = set
        .policies()
        .map(|p| {
            // Cedar numbers the policies of a text `policy0`, `policy1`, … in order.
            let n = AsRef::<str>::as_ref(p.id())
                .strip_prefix("policy")
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(usize::MAX);
            (n, p)
        })
        .collect();
    numbered.sort_by_key(|(n, _)| *n);
    Ok(numbered
        .into_iter()
        .map(|(n, policy)| {
            let id = match policy.annotation("id") {
                Some(id) if !id.trim().is_empty() => id.to_owned(),
                _ => format!("{}#{}", source.name, n.saturating_add(1)),
            };
            let role = policy
                .annotation("role")
                .filter(|r| !r.is_empty())
                .map(str::to_owned);
            let info = PolicyInfo {
                id: id.clone(),
                source: source.name.clone(),
                effect: match policy.effect() {
                    Effect::Permit => PolicyEffect::Permit,
                    Effect::Forbid => PolicyEffect::Forbid,
                },
                role,
                text: policy.to_cedar().unwrap_or_else(|| policy.to_string()),
            };
            Loaded {
                policy: policy.new_id(PolicyId::new(&id)),
                info,
            }
        })
        .collect())
}

/// The built-ins (unless turned off, minus the disabled ones) followed by every source, in
/// order, with ids checked for uniqueness.
fn collect(sources: &[PolicySource], options: &EngineOptions) -> Result<Vec<Loaded>, PolicyError> {
    let mut loaded = Vec::new();
    if options.builtin {
        let builtin = parse_source(&PolicySource::new(BUILTIN_SOURCE, DEFAULTS))?;
        if let Some(unknown) = options
            .disabled_builtin
            .iter()
            .find(|id| !builtin.iter().any(|l| &l.info.id == *id))
        {
            return Err(PolicyError::UnknownBuiltin {
                id: unknown.clone(),
            });
        }
        if let Some(locked) = options.disabled_builtin.iter().find(|id| {
            LOCKED_BUILTIN.iter().any(|l| {
                l.trim_end_matches('*') == id.as_str()
                    || (l.ends_with('*') && id.starts_with(l.trim_end_matches('*')))
            })
        }) {
            return Err(PolicyError::LockedBuiltin { id: locked.clone() });
        }
        loaded.extend(
            builtin
                .into_iter()
                .filter(|l| !options.disabled_builtin.contains(&l.info.id)),
        );
    }
    let mut seen: HashMap<String, String> = loaded
        .iter()
        .map(|l| (l.info.id.clone(), l.info.source.clone()))
        .collect();
    for source in sources {
        for policy in parse_source(source)? {
            if let Some(first) = seen.insert(policy.info.id.clone(), source.name.clone()) {
                return Err(PolicyError::DuplicateId {
                    id: policy.info.id,
                    first,
                    second: source.name.clone(),
                });
            }
            loaded.push(policy);
        }
    }
    Ok(loaded)
}

/// Parses, names and validates (strict mode) every policy. A policy that can never apply is
/// refused; other validation warnings (confusable identifiers) are returned.
pub(crate) fn load_policies(
    schema: &Schema,
    sources: &[PolicySource],
    options: &EngineOptions,
) -> Result<(Vec<Loaded>, Vec<String>), PolicyError> {
    let loaded = collect(sources, options)?;
    let mut set = PolicySet::new();
    for l in &loaded {
        set.add(l.policy.clone())
            .map_err(|_| PolicyError::DuplicateId {
                id: l.info.id.clone(),
                first: l.info.source.clone(),
                second: l.info.source.clone(),
            })?;
    }
    let text_of = |id: &PolicyId| -> (&str, &str) {
        let source = loaded
            .iter()
            .find(|l| l.policy.id() == id)
            .map_or("", |l| l.info.source.as_str());
        let text = if source == BUILTIN_SOURCE {
            DEFAULTS
        } else {
            sources
                .iter()
                .find(|s| s.name == source)
                .map_or("", |s| s.text.as_str())
        };
        (source, text)
    };
    let result = Validator::new(schema.clone()).validate(&set, ValidationMode::Strict);
    // A policy that can never apply is refused too: a forbid that silently matches nothing
    // is a hole the author believes closed.
    let never_applies = |w: &&ValidationWarning| {
        matches!(
            w,
            ValidationWarning::ImpossiblePolicy(_) | ValidationWarning::InvalidActionApplication(_)
        )
    };
    let problems: Vec<(&PolicyId, &dyn Diagnostic)> = result
        .validation_errors()
        .map(|e| (e.policy_id(), e as &dyn Diagnostic))
        .chain(
            result
                .validation_warnings()
                .filter(never_applies)
                .map(|w| (w.policy_id(), w as &dyn Diagnostic)),
        )
        .collect();
    if let Some((policy, error)) = problems.first() {
        let (file, text) = text_of(policy);
        let (location, mut message) = describe(*error, text);
        if problems.len() > 1 {
            message = format!("{message} (and {} more problem(s))", problems.len() - 1);
        }
        return Err(PolicyError::Invalid {
            file: file.to_owned(),
            policy: policy.to_string(),
            location,
            message,
        });
    }
    let warnings = result
        .validation_warnings()
        .map(|w| {
            let (file, text) = text_of(w.policy_id());
            let (location, message) = describe(w, text);
            format!("`{file}`{}: {message}", at(&location))
        })
        .collect();
    Ok((loaded, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_one_based() {
        let text = "ab\ncdé\nf";
        assert_eq!(locate(text, 0), SourceLocation { line: 1, column: 1 });
        assert_eq!(locate(text, 4), SourceLocation { line: 2, column: 2 });
        assert_eq!(locate(text, 8), SourceLocation { line: 3, column: 1 });
    }
}
