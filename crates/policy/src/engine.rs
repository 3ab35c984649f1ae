//! The Cedar policy engine: every authorization decision. It loads and validates policy texts
//! (`load.rs`), slices the set per action (on the action's first request), principal kind and
//! role so that a request evaluates only the few policies whose scope can match it, and turns
//! Cedar's answer into a [`Decision`] whose reasons name the policies behind it.
//!
//! Fail closed: a decision is `Allow` only when some permit matched, no forbid did, and no
//! policy failed to evaluate (Cedar itself would skip an erroring forbid). Apart from the slices,
//! each cut once and never changed, the engine holds no state that changes after load, so one
//! engine serves every thread.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::OnceLock;

use cedar_policy::{
    AuthorizationError, Authorizer, Decision as CedarDecision, Entities, Policy, PolicySet,
    Request, Response, Schema,
};

use crate::entities::{self, Vocabulary};
use crate::load::{self, PolicyError, PolicyInfo, PolicySource};
use crate::slice::{ActionSlice, policy_set};
use crate::{Action, Decision, Denial, EngineOptions, Permit, Principal, PrincipalKind};
use crate::{RequestFacts, Resource};

/// The roles the built-in policies grant.
pub const BUILTIN_ROLES: [&str; 7] = [
    "viewer",
    "editor",
    "analyst",
    "workflow-admin",
    "auditor",
    "security-admin",
    "admin",
];

/// How to build a request's Cedar values.
#[derive(Clone, Copy)]
struct Build<'s> {
    /// Validate entities and request against this schema (the reference path only).
    schema: Option<&'s Schema>,
    /// Give the principal its roles and groups as parents.
    parents: bool,
    /// Put the client address in the context.
    ip: bool,
    /// Build cedar-policy-core's values directly (the fast path), not through the checked
    /// public constructors.
    direct: bool,
}

/// What the policies said, merged over the sets a request was evaluated against.
#[derive(Default)]
struct Outcome {
    permits: BTreeSet<String>,
    forbids: BTreeSet<String>,
    /// Policy id and Cedar's message.
    errors: Vec<(String, String)>,
}

impl Outcome {
    fn absorb(&mut self, response: &Response) {
        let reasons = response.diagnostics().reason().map(ToString::to_string);
        match response.decision() {
            CedarDecision::Allow => self.permits.extend(reasons),
            CedarDecision::Deny => self.forbids.extend(reasons),
        }
        for error in response.diagnostics().errors() {
            let AuthorizationError::PolicyEvaluationError(e) = error;
            self.errors
                .push((e.policy_id().to_string(), e.inner().to_string()));
        }
    }
}

/// Cedar's answer and everything that went into it (`covault policy check`).
#[derive(Clone, Debug)]
pub struct Explanation {
    pub decision: Decision,
    /// Permits whose conditions held.
    pub permitted_by: Vec<String>,
    /// Forbids whose conditions held.
    pub forbidden_by: Vec<String>,
    /// Policies that failed to evaluate, with Cedar's message.
    pub errors: Vec<String>,
    /// The principal as Cedar saw it (uid, roles, groups, attributes).
    pub principal: String,
    pub action: Action,
    /// The resource as Cedar saw it.
    pub resource: String,
    /// The context record.
    pub context: String,
    /// Ids of the policies the request was evaluated against (after slicing).
    pub considered: Vec<String>,
}

/// Loaded, validated policies, sliced for fast decisions. `Send + Sync`; share it in an `Arc`.
pub struct PolicyEngine {
    schema: Schema,
    vocabulary: Vocabulary,
    authorizer: Authorizer,
    /// Every policy, for the reference path and explanations.
    all: PolicySet,
    infos: Vec<PolicyInfo>,
    index: HashMap<String, usize>,
    /// Every policy, in load order: what the slices are cut from.
    policies: Vec<Policy>,
    /// Indexed like [`Action::ALL`]; each is cut on the first request for its action (a
    /// one-shot command asks for one or two of them, and cutting all of them was most of a
    /// command's start-up).
    slices: Vec<OnceLock<ActionSlice>>,
    roles: Vec<String>,
    warnings: Vec<String>,
    /// Whether some policy reads `context.ip` (else the fast path leaves it out).
    reads_ip: bool,
}

/// Whether a policy reads (or tests for) `context.ip`: an attribute access named `ip` in its
/// JSON form. Conservative: any `.ip` or `has ip`, on whatever record, counts.
fn reads_ip(policy: &Policy) -> bool {
    policy
        .to_json()
        .map_or(true, |json| json.to_string().contains("\"attr\":\"ip\""))
}

impl PolicyEngine {
    /// The schema and the built-in policies.
    pub fn builtin() -> Result<Self, PolicyError> {
        Self::load(&[], &EngineOptions::default())
    }

    /// The built-in policies (per `options`) and `sources`, validated against the schema.
    pub fn load(sources: &[PolicySource], options: &EngineOptions) -> Result<Self, PolicyError> {
        let schema = load::parse_schema()?;
        let vocabulary = Vocabulary::new().map_err(|e| PolicyError::Schema {
            message: format!("entity type or action `{}` does not parse", e.0),
        })?;
        let (loaded, warnings) = load::load_policies(&schema, sources, options)?;
        let policies: Vec<Policy> = loaded.iter().map(|l| l.policy.clone()).collect();
        let slices = Action::ALL.iter().map(|_| OnceLock::new()).collect();
        let mut roles: Vec<String> = BUILTIN_ROLES.iter().map(|r| (*r).to_owned()).collect();
        for l in &loaded {
            let named = l
                .policy
                .entity_literals()
                .into_iter()
                .filter(|uid| uid.type_name() == vocabulary.role_type())
                .map(|uid| uid.id().unescaped().to_owned());
            for role in l.info.role.iter().cloned().chain(named) {
                if !roles.contains(&role) {
                    roles.push(role);
                }
            }
        }
        let reads_ip = policies.iter().any(reads_ip);
        let infos: Vec<PolicyInfo> = loaded.into_iter().map(|l| l.info).collect();
        let index = infos
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        Ok(Self {
            schema,
            vocabulary,
            authorizer: Authorizer::new(),
            all: policy_set(policies.iter().cloned()),
            policies,
            infos,
            index,
            slices,
            roles,
            warnings,
            reads_ip,
        })
    }

    /// Every loaded policy, built-ins first, in file order.
    pub fn policies(&self) -> Vec<PolicyInfo> {
        self.infos.clone()
    }

    /// The `@role` annotation of a policy.
    pub fn role_of(&self, policy_id: &str) -> Option<&str> {
        let i = *self.index.get(policy_id)?;
        self.infos.get(i)?.role.as_deref()
    }

    /// The built-in roles and every role a loaded policy names (`@role` or `Role::"x"`).
    pub fn roles(&self) -> Vec<String> {
        self.roles.clone()
    }

    /// Validation warnings (e.g. a policy that can never apply), with file and position.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Decides whether `principal` may take `action` on `resource`.
    pub fn decide(
        &self,
        principal: &Principal,
        action: Action,
        resource: &Resource,
        facts: &RequestFacts<'_>,
    ) -> Decision {
        match self.evaluate(principal, action, resource, facts) {
            Ok(outcome) => self.decision(principal, action, &outcome),
            Err(message) => request_failed(&message),
        }
    }

    /// Evaluates the request against the policies whose scope can admit it.
    fn evaluate(
        &self,
        principal: &Principal,
        action: Action,
        resource: &Resource,
        facts: &RequestFacts<'_>,
    ) -> Result<Outcome, String> {
        let (sets, ancestors) = self.sets_for(principal, action);
        let build = Build {
            schema: None,
            parents: ancestors,
            ip: self.reads_ip,
            direct: true,
        };
        let (request, entities) = self.request(principal, action, resource, facts, build)?;
        let mut outcome = Outcome::default();
        for set in sets {
            outcome.absorb(&self.authorizer.is_authorized(&request, set, &entities));
        }
        Ok(outcome)
    }

    /// The sliced policy sets for this request (see [`ActionSlice::sets_for`]).
    fn sets_for(&self, principal: &Principal, action: Action) -> (Vec<&PolicySet>, bool) {
        match self.slices.get(action as usize) {
            Some(slice) => slice
                .get_or_init(|| ActionSlice::build(action, &self.policies, &self.vocabulary))
                .sets_for(principal),
            None => (Vec::new(), true),
        }
    }

    /// Builds the Cedar request and entities.
    fn request(
        &self,
        principal: &Principal,
        action: Action,
        resource: &Resource,
        facts: &RequestFacts<'_>,
        build: Build<'_>,
    ) -> Result<(Request, Entities), String> {
        let principal_parts = self.vocabulary.principal(principal, build.parents);
        let (resource_uid, resource_parts) = self.vocabulary.resource(principal, resource);
        let context = entities::context(action, resource, facts, build.ip);
        let parts = std::iter::once(principal_parts).chain(resource_parts);
        let (context, entities) = if build.direct {
            (
                entities::direct_context(context)?,
                entities::direct_entities(parts)?,
            )
        } else {
            let entities = entities::checked_entities(parts, build.schema)?;
            (entities::checked_context(context)?, entities)
        };
        let request = Request::new(
            self.vocabulary.principal_uid(principal),
            self.vocabulary.action(action).clone(),
            resource_uid,
            context,
            build.schema,
        )
        .map_err(|e| e.to_string())?;
        Ok((request, entities))
    }

    fn decision(&self, principal: &Principal, action: Action, outcome: &Outcome) -> Decision {
        if !outcome.errors.is_empty() {
            let ids: BTreeSet<&str> = outcome.errors.iter().map(|(id, _)| id.as_str()).collect();
            let ids: Vec<String> = ids.into_iter().map(str::to_owned).collect();
            return Decision::Deny(Denial {
                reason: format!("policy evaluation failed: {}", ids.join(", ")),
                policies: ids,
            });
        }
        if !outcome.forbids.is_empty() {
            let ids: Vec<String> = outcome.forbids.iter().cloned().collect();
            let mut reason = format!("forbidden by policy {}", ids.join(", "));
            let mut phrases: Vec<&str> = Vec::new();
            for p in ids.iter().filter_map(|id| phrase(id)) {
                if !phrases.contains(&p) {
                    phrases.push(p);
                }
            }
            if !phrases.is_empty() {
                reason.push_str(": ");
                reason.push_str(&phrases.join("; "));
            }
            return Decision::Deny(Denial {
                reason,
                policies: ids,
            });
        }
        if outcome.permits.is_empty() {
            let roles: Vec<&str> = principal.roles().collect();
            return Decision::Deny(Denial {
                reason: format!(
                    "no policy permits {action} for role(s) {} on this resource",
                    roles.join(", ")
                ),
                policies: Vec::new(),
            });
        }
        Decision::Allow(Permit::new(
            action,
            outcome.permits.iter().cloned().collect(),
        ))
    }

    /// The reference decision: the whole policy set, entities and request validated against
    /// the schema on every call. Slow; for tests (it must agree with [`Self::decide`]) and the
    /// benchmark's baseline.
    #[doc(hidden)]
    pub fn decide_reference(
        &self,
        principal: &Principal,
        action: Action,
        resource: &Resource,
        facts: &RequestFacts<'_>,
    ) -> Decision {
        let build = Build {
            schema: Some(&self.schema),
            parents: true,
            ip: true,
            direct: false,
        };
        match self.request(principal, action, resource, facts, build) {
            Ok((request, entities)) => {
                let mut outcome = Outcome::default();
                outcome.absorb(
                    &self
                        .authorizer
                        .is_authorized(&request, &self.all, &entities),
                );
                self.decision(principal, action, &outcome)
            }
            Err(message) => request_failed(&message),
        }
    }

    /// The decision with every matching permit and forbid, errors, and what Cedar saw.
    pub fn explain(
        &self,
        principal: &Principal,
        action: Action,
        resource: &Resource,
        facts: &RequestFacts<'_>,
    ) -> Explanation {
        let decision = self.decide(principal, action, resource, facts);
        let mut explanation = Explanation {
            decision,
            permitted_by: Vec::new(),
            forbidden_by: Vec::new(),
            errors: Vec::new(),
            principal: describe_principal(principal),
            action,
            resource: describe_resource(resource),
            context: String::new(),
            considered: Vec::new(),
        };
        let (sets, _) = self.sets_for(principal, action);
        let build = Build {
            schema: None,
            parents: true,
            ip: true,
            direct: true,
        };
        let Ok((request, entities)) = self.request(principal, action, resource, facts, build)
        else {
            return explanation;
        };
        explanation.context = request
            .context()
            .map(ToString::to_string)
            .unwrap_or_default();
        let considered: Vec<Policy> = sets.iter().flat_map(|s| s.policies().cloned()).collect();
        explanation.considered = considered.iter().map(|p| p.id().to_string()).collect();
        explanation
            .considered
            .sort_by_key(|id| self.index.get(id).copied().unwrap_or(usize::MAX));
        // One effect at a time, so that matching permits show even when a forbid wins.
        for effect in [cedar_policy::Effect::Permit, cedar_policy::Effect::Forbid] {
            let set = policy_set(considered.iter().filter(|p| p.effect() == effect).cloned());
            let mut outcome = Outcome::default();
            outcome.absorb(&self.authorizer.is_authorized(&request, &set, &entities));
            let satisfied: Vec<String> =
                outcome.permits.into_iter().chain(outcome.forbids).collect();
            match effect {
                cedar_policy::Effect::Permit => explanation.permitted_by = satisfied,
                cedar_policy::Effect::Forbid => explanation.forbidden_by = satisfied,
            }
            explanation.errors.extend(
                outcome
                    .errors
                    .into_iter()
                    .map(|(id, e)| format!("{id}: {e}")),
            );
        }
        explanation
    }
}

fn request_failed(message: &str) -> Decision {
    Decision::Deny(Denial {
        reason: format!("policy request could not be built: {message}"),
        policies: Vec::new(),
    })
}

/// A human phrase for the built-in forbids, appended to "forbidden by policy …".
fn phrase(policy_id: &str) -> Option<&'static str> {
    if policy_id.starts_with("mfa-") {
        return Some("this action needs MFA: send a current TOTP code (X-Covault-OTP)");
    }
    if policy_id.starts_with("token-scope-") {
        return Some("the API token's scope does not allow this");
    }
    match policy_id {
        "operator-only" => {
            Some("only the local operator (holder of the data directory and its key) may do this")
        }
        "disabled-principal" => Some("principal is disabled"),
        "provider-clearance" => Some("the data's tier is above the provider's clearance"),
        _ => None,
    }
}

fn describe_principal(principal: &Principal) -> String {
    let kind = match principal.kind {
        PrincipalKind::User => "User",
        PrincipalKind::Service => "Service",
        PrincipalKind::Operator => "Operator",
    };
    let roles: Vec<&str> = principal.roles().collect();
    format!(
        "{kind}::\"{}\" ({}) roles [{}] groups [{}] enabled {} mfa_enrolled {}",
        principal.id,
        principal.name,
        roles.join(", "),
        principal.groups.join(", "),
        principal.enabled,
        principal.mfa_enrolled
    )
}

fn describe_resource(resource: &Resource) -> String {
    match resource {
        Resource::Path { path, tier, owner } => format!(
            "File::\"{path}\" tier {} owner {}",
            tier.map_or("none (no file yet)", |t| t.as_str()),
            owner.as_deref().unwrap_or("none")
        ),
        Resource::Workspace => "Workspace::\"workspace\"".to_owned(),
        Resource::Principal { id } => format!("principal \"{id}\""),
        Resource::Provider { name, clearance } => {
            format!("Provider::\"{name}\" clearance {clearance}")
        }
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.decision {
            Decision::Allow(permit) => {
                writeln!(
                    f,
                    "ALLOW {}: permitted by {}",
                    self.action,
                    permit.policies().join(", ")
                )?;
            }
            Decision::Deny(denial) => writeln!(f, "DENY {}: {}", self.action, denial.reason)?,
        }
        writeln!(f, "  principal: {}", self.principal)?;
        writeln!(f, "  resource:  {}", self.resource)?;
        writeln!(f, "  context:   {}", self.context)?;
        let list = |ids: &[String]| {
            if ids.is_empty() {
                "(none)".to_owned()
            } else {
                ids.join(", ")
            }
        };
        writeln!(f, "  matching permits: {}", list(&self.permitted_by))?;
        writeln!(f, "  matching forbids: {}", list(&self.forbidden_by))?;
        if !self.errors.is_empty() {
            writeln!(
                f,
                "  evaluation errors (a policy that errors never grants):"
            )?;
            for error in &self.errors {
                writeln!(f, "    {error}")?;
            }
        }
        write!(f, "  policies considered: {}", list(&self.considered))
    }
}
