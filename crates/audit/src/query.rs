//! Audit search: the filters a reader may give, validated before any query runs.

use serde::{Deserialize, Serialize};

use crate::Outcome;

/// Largest page a search returns.
pub const MAX_PAGE: u32 = 1000;
/// Longest filter value accepted.
const MAX_FILTER_LEN: usize = 1024;

/// What to look for. Every filter is optional; all given ones must match.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Events at or after this time (ms since the epoch).
    pub since_ms: Option<i64>,
    /// Events before this time.
    pub until_ms: Option<i64>,
    pub principal: Option<String>,
    /// An exact action (`file.read`) or a family (`file.*`).
    pub action: Option<String>,
    /// A path or directory: matches it and everything under it (whole components).
    pub path: Option<String>,
    pub outcome: Option<Outcome>,
    pub correlation_id: Option<String>,
    pub request_id: Option<String>,
    /// Page after this position (events come oldest first).
    pub after_seq: Option<u64>,
    pub limit: Option<u32>,
}

/// How an action filter matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionFilter {
    Exact(String),
    /// Actions starting with this text (the family's name and a dot).
    Prefix(String),
}

impl AuditQuery {
    /// Checks sizes and shapes; returns a message for the caller when something is off.
    pub fn validate(&self) -> Result<(), String> {
        let fields = [
            ("principal", &self.principal),
            ("action", &self.action),
            ("path", &self.path),
            ("correlation_id", &self.correlation_id),
            ("request_id", &self.request_id),
        ];
        for (name, value) in fields {
            if let Some(v) = value
                && (v.is_empty() || v.len() > MAX_FILTER_LEN || v.chars().any(char::is_control))
            {
                return Err(format!(
                    "`{name}` must be 1 to {MAX_FILTER_LEN} printable characters"
                ));
            }
        }
        if let Some(path) = &self.path
            && !path.starts_with('/')
        {
            return Err("`path` must start with `/`".into());
        }
        if let (Some(a), Some(b)) = (self.since_ms, self.until_ms)
            && a > b
        {
            return Err("`since` is later than `until`".into());
        }
        if self.limit == Some(0) {
            return Err("`limit` must be at least 1".into());
        }
        Ok(())
    }

    pub fn page_size(&self) -> u32 {
        self.limit.unwrap_or(100).clamp(1, MAX_PAGE)
    }

    pub fn action_filter(&self) -> Option<ActionFilter> {
        let action = self.action.as_deref()?;
        Some(match action.strip_suffix('*') {
            Some(family) => ActionFilter::Prefix(family.to_owned()),
            None => ActionFilter::Exact(action.to_owned()),
        })
    }

    /// The path filter as a half-open range of stored paths: the path itself, or anything
    /// under it (`/a/` ≤ p < `/a0`, since `0` follows `/`).
    pub fn path_range(&self) -> Option<(String, String, String)> {
        let path = self.path.as_deref()?.trim_end_matches('/');
        if path.is_empty() {
            return Some(("/".into(), "/".into(), "0".into()));
        }
        Some((path.to_owned(), format!("{path}/"), format!("{path}0")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        let q = AuditQuery {
            action: Some("file.*".into()),
            path: Some("/finance/".into()),
            ..Default::default()
        };
        assert!(q.validate().is_ok());
        assert_eq!(
            q.action_filter(),
            Some(ActionFilter::Prefix("file.".into()))
        );
        assert_eq!(
            q.path_range(),
            Some(("/finance".into(), "/finance/".into(), "/finance0".into()))
        );
        assert_eq!(q.page_size(), 100);
        let bad = |q: AuditQuery| q.validate().is_err();
        assert!(bad(AuditQuery {
            path: Some("x".into()),
            ..Default::default()
        }));
        assert!(bad(AuditQuery {
            principal: Some("a\nb".into()),
            ..Default::default()
        }));
        assert!(bad(AuditQuery {
            since_ms: Some(5),
            until_ms: Some(1),
            ..Default::default()
        }));
        assert!(bad(AuditQuery {
            limit: Some(0),
            ..Default::default()
        }));
        assert_eq!(
            AuditQuery {
                limit: Some(5000),
                ..Default::default()
            }
            .page_size(),
            MAX_PAGE
        );
    }
}
