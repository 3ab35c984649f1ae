//! Slicing the loaded policies for fast decisions: once per action and principal kind, and
//! within that by the role a policy's principal scope requires, so that a request evaluates
//! only the policies whose scope can admit it. Each kept policy is rewritten without the
//! scope constraints its slice already guarantees (Cedar rebuilds and evaluates a policy's
//! scope on every request), and each slice records whether its policies can look at the
//! principal's ancestors at all.
//!
//! Slicing never changes a decision: a policy left out could not have matched (nor erred,
//! since Cedar checks the scope first), and a rewritten policy means the same within its slice.
//! `tests/engine.rs` compares every decision with the unsliced reference path.

use std::collections::HashMap;

use cedar_policy::{ActionConstraint, EntityUid, Policy, PolicySet, PrincipalConstraint};

use crate::entities::Vocabulary;
use crate::{Action, Principal, PrincipalKind};

/// The principal kinds, as slice indexes.
const KINDS: [PrincipalKind; 3] = [
    PrincipalKind::User,
    PrincipalKind::Service,
    PrincipalKind::Operator,
];

fn kind_index(kind: PrincipalKind) -> usize {
    match kind {
        PrincipalKind::User => 0,
        PrincipalKind::Service => 1,
        PrincipalKind::Operator => 2,
    }
}

/// One action's policies for one principal kind.
#[derive(Default)]
pub(crate) struct KindSlice {
    /// Policies that apply whatever the principal's roles.
    base: Vec<Policy>,
    /// Policies scoped `principal in Role::"x"`, by role (empty for the operator, whose
    /// entity has no parents).
    by_role: HashMap<String, Vec<Policy>>,
    base_set: PolicySet,
    /// The base set plus one role's policies: the common one-named-role case.
    with_role: HashMap<String, PolicySet>,
    /// A role's policies alone, added for a principal's second and further roles.
    role_only: HashMap<String, PolicySet>,
    /// Whether any of these policies can consult the principal's ancestors (its roles and
    /// groups). If none can, the principal entity is built without parents: computing the
    /// transitive closure of an entity set is the largest per-request cost after evaluation.
    ancestors: bool,
}

/// The policies one action can reach, per principal kind (indexed like [`KINDS`]).
#[derive(Default)]
pub(crate) struct ActionSlice {
    kinds: [KindSlice; 3],
}

/// Whom a policy's principal scope admits.
struct PrincipalScope {
    kinds: [bool; 3],
    /// The role it requires (`principal in Role::"x"`).
    role: Option<String>,
    /// Whether the slice a policy lands in already guarantees its principal scope (a kind,
    /// a role, or both), so that evaluating it again can be skipped.
    implied: bool,
}

fn principal_scope(policy: &Policy, vocabulary: &Vocabulary) -> PrincipalScope {
    let kind_of = |name: &str| -> [bool; 3] {
        match name {
            "User" => [true, false, false],
            "Service" => [false, true, false],
            "Operator" => [false, false, true],
            _ => [false; 3],
        }
    };
    let role_of = |uid: &EntityUid| {
        (uid.type_name() == vocabulary.role_type()).then(|| uid.id().unescaped().to_owned())
    };
    let scope = |kinds, role, implied| PrincipalScope {
        kinds,
        role,
        implied,
    };
    match policy.principal_constraint() {
        PrincipalConstraint::Any => scope([true; 3], None, true),
        PrincipalConstraint::Is(t) => scope(kind_of(t.basename()), None, true),
        PrincipalConstraint::Eq(uid) => scope(kind_of(uid.type_name().basename()), None, false),
        PrincipalConstraint::In(uid) => match role_of(&uid) {
            Some(role) => scope([true, true, false], Some(role), true),
            // Groups and anything else: every kind, and evaluation decides.
            None => scope([true; 3], None, false),
        },
        PrincipalConstraint::IsIn(t, uid) => {
            let role = role_of(&uid);
            let implied = role.is_some();
            scope(kind_of(t.basename()), role, implied)
        }
    }
}

/// Whether a policy's action scope can match `action` (the schema has no action groups).
fn matches_action(policy: &Policy, action: Action, vocabulary: &Vocabulary) -> bool {
    let uid = vocabulary.action(action);
    match policy.action_constraint() {
        ActionConstraint::Any => true,
        ActionConstraint::Eq(a) => &a == uid,
        ActionConstraint::In(list) => list.contains(uid),
    }
}

/// The policy with the scope constraints its slice already guarantees removed: the action
/// always (the slice is per action), the principal when `implied`. Cedar rebuilds and
/// evaluates a policy's scope on every request (an action list becomes a set value each
/// time), so this is most of a slice's saving. On any conversion failure the original policy
/// is kept, which means the same thing, only slower. Also says whether the (lean) policy can
/// consult the principal's ancestors.
fn lean(policy: &Policy, implied: bool) -> (Policy, bool) {
    let Ok(mut json) = policy.to_json() else {
        return (policy.clone(), true);
    };
    let Some(fields) = json.as_object_mut() else {
        return (policy.clone(), true);
    };
    let all = || serde_json::json!({ "op": "All" });
    fields.insert("action".to_owned(), all());
    if implied {
        fields.insert("principal".to_owned(), all());
    }
    let ancestors = reads_ancestors(&json);
    match Policy::from_json(Some(policy.id().clone()), json) {
        Ok(lean) => (lean, ancestors),
        Err(_) => (policy.clone(), true),
    }
}

/// Whether a policy (in Cedar's JSON form) can look at an entity's ancestors: a principal
/// scope with `in`, or any `in` in its conditions (operator, or `is … in`) other than
/// `action in …` and `resource in …` (actions and resources have no parents in our entity
/// sets; neither do action or resource scopes need any). Conservative: when unsure, yes.
fn reads_ancestors(policy: &serde_json::Value) -> bool {
    match policy.as_object() {
        Some(fields) => fields
            .iter()
            .filter(|(key, _)| !matches!(key.as_str(), "action" | "resource" | "annotations"))
            .any(|(_, value)| mentions_in(value)),
        None => true,
    }
}

fn mentions_in(json: &serde_json::Value) -> bool {
    use serde_json::Value;
    let harmless = |left: Option<&Value>| {
        let var = left.and_then(|l| l.get("Var")).and_then(Value::as_str);
        matches!(var, Some("action" | "resource"))
    };
    match json {
        Value::Object(fields) => fields.iter().any(|(key, value)| {
            let risky = match key.as_str() {
                "in" => !harmless(value.get("left")),
                "op" => value.as_str() == Some("in"),
                _ => false,
            };
            risky || mentions_in(value)
        }),
        Value::Array(items) => items.iter().any(mentions_in),
        _ => false,
    }
}

pub(crate) fn policy_set(policies: impl IntoIterator<Item = Policy>) -> PolicySet {
    let mut set = PolicySet::new();
    for policy in policies {
        // Ids are unique by construction (checked on load), so `add` cannot fail here.
        let _ = set.add(policy);
    }
    set
}

impl ActionSlice {
    pub(crate) fn build(action: Action, policies: &[Policy], vocabulary: &Vocabulary) -> Self {
        let mut slice = Self::default();
        for policy in policies
            .iter()
            .filter(|p| matches_action(p, action, vocabulary))
        {
            let scope = principal_scope(policy, vocabulary);
            let (lean, ancestors) = lean(policy, scope.implied);
            for (k, admitted) in scope.kinds.into_iter().enumerate() {
                let kind = &mut slice.kinds[k];
                kind.ancestors |= admitted && ancestors;
                match (&scope.role, admitted) {
                    (_, false) => {}
                    (Some(_), true) if KINDS[k] == PrincipalKind::Operator => {}
                    (Some(role), true) => {
                        kind.by_role
                            .entry(role.clone())
                            .or_default()
                            .push(lean.clone());
                    }
                    (None, true) => kind.base.push(lean.clone()),
                }
            }
        }
        for kind in &mut slice.kinds {
            kind.base_set = policy_set(kind.base.iter().cloned());
            for (role, extra) in &kind.by_role {
                let set = policy_set(kind.base.iter().chain(extra).cloned());
                kind.with_role.insert(role.clone(), set);
                kind.role_only
                    .insert(role.clone(), policy_set(extra.iter().cloned()));
            }
        }
        slice
    }
}

impl ActionSlice {
    /// The policy sets to evaluate for `principal`: usually one precomputed set; a principal
    /// with several roles that policies name also gets each further role's own policies. And
    /// whether any of them can consult the principal's ancestors.
    pub(crate) fn sets_for(&self, principal: &Principal) -> (Vec<&PolicySet>, bool) {
        let Some(slice) = self.kinds.get(kind_index(principal.kind)) else {
            return (Vec::new(), true);
        };
        let mut named = principal
            .roles()
            .filter(|role| slice.by_role.contains_key(*role));
        let Some(first) = named.next() else {
            return (vec![&slice.base_set], slice.ancestors);
        };
        let mut sets: Vec<&PolicySet> = slice.with_role.get(first).into_iter().collect();
        sets.extend(named.filter_map(|role| slice.role_only.get(role)));
        (sets, slice.ancestors)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::str::FromStr;

    use super::*;
    use crate::EngineOptions;
    use crate::load::{load_policies, parse_schema};

    fn builtin() -> Vec<Policy> {
        let schema = parse_schema().unwrap();
        let (loaded, _) = load_policies(&schema, &[], &EngineOptions::default()).unwrap();
        loaded.into_iter().map(|l| l.policy).collect()
    }

    #[test]
    fn builtin_slices_are_lean_and_need_no_ancestors() {
        let vocabulary = Vocabulary::new().unwrap();
        let policies = builtin();
        for action in Action::ALL {
            let slice = ActionSlice::build(action, &policies, &vocabulary);
            for kind in &slice.kinds {
                assert!(
                    !kind.ancestors,
                    "{action}: a built-in policy reads ancestors"
                );
                let role_policies = kind.by_role.values().flatten();
                for policy in kind.base.iter().chain(role_policies.clone()) {
                    assert_eq!(
                        policy.action_constraint(),
                        ActionConstraint::Any,
                        "{action}"
                    );
                }
                for policy in role_policies {
                    let any = PrincipalConstraint::Any;
                    assert_eq!(policy.principal_constraint(), any, "{}", policy.id());
                }
            }
            let user = &slice.kinds[0];
            let count = user.base.len() + user.by_role.values().map(Vec::len).sum::<usize>();
            assert!(
                count < policies.len() / 2,
                "{action}: {count} policies in the slice"
            );
        }
        let read = ActionSlice::build(Action::FileRead, &policies, &vocabulary);
        let operator = &read.kinds[2];
        assert!(operator.by_role.is_empty());
        assert!(
            operator
                .base
                .iter()
                .any(|p| p.id().to_string() == "operator")
        );
        assert!(
            !read.kinds[0]
                .base
                .iter()
                .any(|p| p.id().to_string() == "operator")
        );
        assert!(read.kinds[0].by_role.contains_key("viewer"));
    }

    #[test]
    fn ancestor_reads_are_detected() {
        let reads =
            |text: &str| reads_ancestors(&Policy::from_str(text).unwrap().to_json().unwrap());
        assert!(!reads(
            r#"permit (principal, action in [Action::"a", Action::"b"], resource);"#
        ));
        assert!(!reads(
            r#"permit (principal, action, resource) when { action in [Action::"a"] };"#
        ));
        assert!(!reads(
            r#"permit (principal, action, resource) when { resource in Folder::"f" };"#
        ));
        assert!(reads(
            r#"permit (principal in Role::"x", action, resource);"#
        ));
        assert!(reads(
            r#"permit (principal is User in Group::"g", action, resource);"#
        ));
        assert!(reads(
            r#"permit (principal, action, resource) when { principal in Group::"g" };"#
        ));
        assert!(reads(
            r#"permit (principal, action, resource) when { principal is User in Role::"r" };"#
        ));
        assert!(reads(
            r#"permit (principal, action, resource) when { User::"u" in [Role::"r"] };"#
        ));
    }
}
