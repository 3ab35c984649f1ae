//! Turning the typed request (principal, action, resource, facts) into Cedar values: the
//! principal and resource entities, the context record, and the booleans computed from an API
//! token's scope. The entity set is minimal (principal and resource only; roles and groups
//! appear as the principal's parents, so the hierarchy is transitively closed by
//! construction) and conforms to `cedar/schema.cedarschema` by construction.
//!
//! Two ways to materialise the same parts: *checked*, through cedar-policy's public API
//! (attribute expressions evaluated, transitive closure computed, optionally validated against
//! the schema; the reference path), and *direct*, building cedar-policy-core's values as they
//! are (no expression evaluation, no closure computation; the fast path). The tests compare
//! the decisions of both on every case.
//!
//! This module decides nothing and evaluates no policy.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;

use cedar_policy::{
    Context, Entities, Entity, EntityId, EntityTypeName, EntityUid, RestrictedExpression, Schema,
};
use cedar_policy_core::ast as cedar_ast;
use cedar_policy_core::entities::{NoEntitiesSchema, TCComputation};
use cedar_policy_core::extensions::Extensions;

use crate::{Action, Principal, PrincipalKind, RequestFacts, Resource, Tier, TokenScope};

/// The single Workspace entity's id.
const WORKSPACE_ID: &str = "workspace";

/// A tier's rank in Cedar (`Long`): public 0, internal 1, confidential 2, restricted 3.
pub(crate) fn tier_rank(tier: Tier) -> i64 {
    match tier {
        Tier::Public => 0,
        Tier::Internal => 1,
        Tier::Confidential => 2,
        Tier::Restricted => 3,
    }
}

/// An attribute or context value.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    Bool(bool),
    Long(i64),
    Str(String),
    /// An `ipaddr` (context only).
    Ip(String),
    Scope(ScopeChecks),
}

impl Value {
    fn restricted(self) -> Result<RestrictedExpression, String> {
        Ok(match self {
            Value::Bool(b) => RestrictedExpression::new_bool(b),
            Value::Long(n) => RestrictedExpression::new_long(n),
            Value::Str(s) => RestrictedExpression::new_string(s),
            Value::Ip(ip) => RestrictedExpression::new_ip(ip),
            Value::Scope(checks) => RestrictedExpression::new_record(
                checks
                    .fields()
                    .map(|(k, v)| (k.to_owned(), RestrictedExpression::new_bool(v))),
            )
            .map_err(|e| e.to_string())?,
        })
    }

    /// The value as cedar-policy-core holds it; `None` for an `ipaddr`, which only the
    /// checked path builds (it needs the extension's constructor).
    fn direct(self) -> Option<cedar_ast::Value> {
        Some(match self {
            Value::Bool(b) => b.into(),
            Value::Long(n) => n.into(),
            Value::Str(s) => s.into(),
            Value::Ip(_) => return None,
            Value::Scope(checks) => cedar_ast::Value::record(checks.fields(), None),
        })
    }
}

/// An entity before it becomes Cedar's.
#[derive(Clone, Debug)]
pub(crate) struct EntityParts {
    uid: EntityUid,
    attrs: Vec<(&'static str, Value)>,
    parents: Vec<EntityUid>,
}

/// The context record's fields before they become Cedar's.
pub(crate) type ContextParts = Vec<(&'static str, Value)>;

/// Through cedar-policy's public API: attributes evaluated, the hierarchy closed, and, given
/// a schema, every entity validated against it (and the schema's action entities added).
pub(crate) fn checked_entities(
    parts: impl IntoIterator<Item = EntityParts>,
    schema: Option<&Schema>,
) -> Result<Entities, String> {
    let entities = parts
        .into_iter()
        .map(|p| {
            let attrs = p
                .attrs
                .into_iter()
                .map(|(k, v)| Ok((k.to_owned(), v.restricted()?)))
                .collect::<Result<HashMap<_, _>, String>>()?;
            Entity::new(p.uid, attrs, p.parents.into_iter().collect()).map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, String>>()?;
    Entities::from_entities(entities, schema).map_err(|e| e.to_string())
}

/// Straight into cedar-policy-core's values. Sound because the parts are built here from
/// typed inputs: literal attribute values need no evaluation, and the parents already are
/// every ancestor (roles and groups have no entities of their own in the set).
pub(crate) fn direct_entities(
    parts: impl IntoIterator<Item = EntityParts>,
) -> Result<Entities, String> {
    let entities = parts.into_iter().map(|p| {
        let attrs = p
            .attrs
            .into_iter()
            .filter_map(|(k, v)| Some((k.into(), v.direct()?.into())));
        cedar_ast::Entity::new_with_attr_partial_value(
            p.uid.into(),
            attrs,
            HashSet::new(),
            p.parents.into_iter().map(Into::into).collect(),
            [],
        )
    });
    cedar_policy_core::entities::Entities::from_entities(
        entities,
        None::<&NoEntitiesSchema>,
        TCComputation::AssumeAlreadyComputed,
        Extensions::all_available(),
    )
    .map(Entities::from)
    .map_err(|e| e.to_string())
}

/// The context through the public API.
pub(crate) fn checked_context(parts: ContextParts) -> Result<Context, String> {
    let pairs = parts
        .into_iter()
        .map(|(k, v)| Ok((k.to_owned(), v.restricted()?)))
        .collect::<Result<Vec<_>, String>>()?;
    Context::from_pairs(pairs).map_err(|e| e.to_string())
}

/// The context as cedar-policy-core holds it (through the public API if it has an address).
pub(crate) fn direct_context(parts: ContextParts) -> Result<Context, String> {
    if parts.iter().any(|(_, v)| matches!(v, Value::Ip(_))) {
        return checked_context(parts);
    }
    let record: BTreeMap<_, cedar_ast::Value> = parts
        .into_iter()
        .filter_map(|(k, v)| Some((k.into(), v.direct()?)))
        .collect();
    Ok(Context::from(cedar_ast::Context::Value(Arc::new(record))))
}

/// The entity type names and action uids, parsed once per engine.
#[derive(Clone, Debug)]
pub(crate) struct Vocabulary {
    user: EntityTypeName,
    service: EntityTypeName,
    operator: EntityTypeName,
    role: EntityTypeName,
    group: EntityTypeName,
    file: EntityTypeName,
    provider: EntityTypeName,
    workspace: EntityUid,
    /// Indexed like [`Action::ALL`].
    actions: Vec<EntityUid>,
}

/// A Cedar name that did not parse (only possible if this file and the schema disagree).
#[derive(Debug)]
pub(crate) struct BadName(pub String);

fn type_name(name: &str) -> Result<EntityTypeName, BadName> {
    EntityTypeName::from_str(name).map_err(|_| BadName(name.to_owned()))
}

impl Vocabulary {
    pub(crate) fn new() -> Result<Self, BadName> {
        let action_type = type_name("Action")?;
        let actions = Action::ALL
            .iter()
            .map(|a| {
                EntityUid::from_type_name_and_id(action_type.clone(), EntityId::new(a.as_str()))
            })
            .collect();
        Ok(Self {
            user: type_name("User")?,
            service: type_name("Service")?,
            operator: type_name("Operator")?,
            role: type_name("Role")?,
            group: type_name("Group")?,
            file: type_name("File")?,
            provider: type_name("Provider")?,
            workspace: EntityUid::from_type_name_and_id(
                type_name("Workspace")?,
                EntityId::new(WORKSPACE_ID),
            ),
            actions,
        })
    }

    /// `Action::"file.read"` and the like.
    pub(crate) fn action(&self, action: Action) -> &EntityUid {
        // INVARIANT: `actions` has one entry per `Action::ALL`, in the enum's declaration
        // order, which is also the discriminant order.
        &self.actions[action as usize]
    }

    pub(crate) fn role_type(&self) -> &EntityTypeName {
        &self.role
    }

    fn uid(name: &EntityTypeName, id: &str) -> EntityUid {
        EntityUid::from_type_name_and_id(name.clone(), EntityId::new(id))
    }

    fn principal_type(&self, kind: PrincipalKind) -> &EntityTypeName {
        match kind {
            PrincipalKind::User => &self.user,
            PrincipalKind::Service => &self.service,
            PrincipalKind::Operator => &self.operator,
        }
    }

    pub(crate) fn principal_uid(&self, principal: &Principal) -> EntityUid {
        Self::uid(self.principal_type(principal.kind), &principal.id)
    }

    /// The principal: its roles and groups are its parents, when `parents` (the engine leaves
    /// them out when no policy it evaluates can look at them). The operator has neither
    /// attributes nor parents.
    pub(crate) fn principal(&self, principal: &Principal, parents: bool) -> EntityParts {
        let uid = self.principal_uid(principal);
        if principal.kind == PrincipalKind::Operator {
            return EntityParts {
                uid,
                attrs: Vec::new(),
                parents: Vec::new(),
            };
        }
        let parents = if parents {
            principal
                .roles()
                .map(|r| Self::uid(&self.role, r))
                .chain(principal.groups.iter().map(|g| Self::uid(&self.group, g)))
                .collect()
        } else {
            Vec::new()
        };
        EntityParts {
            uid,
            attrs: vec![
                ("id", Value::Str(principal.id.clone())),
                ("enabled", Value::Bool(principal.enabled)),
                ("mfa_enrolled", Value::Bool(principal.mfa_enrolled)),
            ],
            parents,
        }
    }

    /// The resource's uid, and its entity when it has attributes. A principal resource is
    /// typed like the acting principal when it is the same id, else as a `User`; it carries no
    /// attributes (the engine has none to give it).
    pub(crate) fn resource(
        &self,
        principal: &Principal,
        resource: &Resource,
    ) -> (EntityUid, Option<EntityParts>) {
        let entity = |uid: EntityUid, attrs| {
            let parts = EntityParts {
                uid: uid.clone(),
                attrs,
                parents: Vec::new(),
            };
            (uid, Some(parts))
        };
        match resource {
            Resource::Path { path, tier, owner } => {
                let mut attrs = vec![
                    ("path", Value::Str(path.clone())),
                    ("tier", Value::Long(tier.map_or(0, tier_rank))),
                    ("exists", Value::Bool(tier.is_some())),
                ];
                if let Some(owner) = owner {
                    attrs.push(("owner", Value::Str(owner.clone())));
                }
                entity(Self::uid(&self.file, path), attrs)
            }
            Resource::Workspace => (self.workspace.clone(), None),
            Resource::Principal { id } => {
                let kind = if *id == principal.id && principal.kind == PrincipalKind::Service {
                    PrincipalKind::Service
                } else {
                    PrincipalKind::User
                };
                (Self::uid(self.principal_type(kind), id), None)
            }
            Resource::Provider { name, clearance } => {
                let attrs = vec![
                    ("name", Value::Str(name.clone())),
                    ("clearance", Value::Long(tier_rank(*clearance))),
                ];
                entity(Self::uid(&self.provider, name), attrs)
            }
        }
    }
}

/// What a token scope says about this request, as the context's `scope` record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ScopeChecks {
    pub action_ok: bool,
    pub path_ok: bool,
    pub tier_ok: bool,
    pub provider_ok: bool,
    pub model_ok: bool,
}

impl ScopeChecks {
    /// Paths, tiers, providers and models are checked only where the action concerns them;
    /// a ceiling with no known data tier, or a model list with no model, fails closed.
    pub(crate) fn compute(
        scope: &TokenScope,
        action: Action,
        resource: &Resource,
        facts: &RequestFacts<'_>,
    ) -> Self {
        let mut checks = Self {
            action_ok: scope.allows_action(action),
            path_ok: true,
            tier_ok: true,
            provider_ok: true,
            model_ok: true,
        };
        let within = |tier: Option<Tier>| match tier {
            Some(t) => scope.allows_tier(t),
            None => scope.max_tier.is_none(),
        };
        match resource {
            Resource::Path { path, tier, .. } => {
                checks.path_ok = scope.allows_path(path);
                // Relabelling writes the new tier too: it must be within the ceiling.
                let new_tier = facts.new_tier.filter(|_| action == Action::FileLabel);
                checks.tier_ok = scope.allows_tier(tier.unwrap_or(Tier::Public))
                    && new_tier.is_none_or(|t| scope.allows_tier(t));
            }
            Resource::Provider { name, .. } => {
                checks.provider_ok = scope.allows_provider(name);
                checks.tier_ok = within(facts.data_tier);
                checks.model_ok = match facts.model {
                    Some(model) => scope.allows_model(model),
                    None => scope.models.is_empty(),
                };
            }
            Resource::Workspace | Resource::Principal { .. } => {}
        }
        checks
    }

    fn fields(self) -> impl Iterator<Item = (&'static str, bool)> {
        [
            ("action_ok", self.action_ok),
            ("path_ok", self.path_ok),
            ("tier_ok", self.tier_ok),
            ("provider_ok", self.provider_ok),
            ("model_ok", self.model_ok),
        ]
        .into_iter()
    }
}

/// The context record: `mfa` always, the rest when known. `with_ip` adds the client address
/// (building an `ipaddr` value costs about as much as evaluating a few policies, so the engine
/// leaves it out when no policy reads `context.ip`).
pub(crate) fn context(
    action: Action,
    resource: &Resource,
    facts: &RequestFacts<'_>,
    with_ip: bool,
) -> ContextParts {
    let mut parts = Vec::with_capacity(6);
    parts.push(("mfa", Value::Bool(facts.mfa)));
    if let Some(ip) = facts.remote_ip.filter(|_| with_ip) {
        parts.push(("ip", Value::Ip(ip.to_string())));
    }
    if let Some(tier) = facts.new_tier {
        parts.push(("new_tier", Value::Long(tier_rank(tier))));
    }
    if let Some(tier) = facts.data_tier {
        parts.push(("data_tier", Value::Long(tier_rank(tier))));
    }
    if let Some(model) = facts.model {
        parts.push(("model", Value::Str(model.to_owned())));
    }
    if let Some(scope) = facts.scope {
        parts.push((
            "scope",
            Value::Scope(ScopeChecks::compute(scope, action, resource, facts)),
        ));
    }
    parts
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn actions_index_in_declaration_order() {
        let vocabulary = Vocabulary::new().unwrap();
        for (i, action) in Action::ALL.into_iter().enumerate() {
            assert_eq!(action as usize, i);
            assert_eq!(vocabulary.action(action).id().unescaped(), action.as_str());
        }
    }

    #[test]
    fn scope_checks_fail_closed_without_facts() {
        let scope = TokenScope {
            max_tier: Some(Tier::Internal),
            models: vec!["small".into()],
            ..TokenScope::default()
        };
        let provider = Resource::Provider {
            name: "anthropic".into(),
            clearance: Tier::Restricted,
        };
        let checks =
            ScopeChecks::compute(&scope, Action::AiSend, &provider, &RequestFacts::default());
        assert!(!checks.tier_ok && !checks.model_ok && checks.provider_ok && checks.action_ok);
        let new_file = Resource::Path {
            path: "/new.txt".into(),
            tier: None,
            owner: None,
        };
        let checks = ScopeChecks::compute(
            &scope,
            Action::FileWrite,
            &new_file,
            &RequestFacts::default(),
        );
        assert!(checks.tier_ok && checks.path_ok);
    }
}
