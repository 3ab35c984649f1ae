//! Workspace paths: validated and normalised once, at the edge, into [`WorkspacePath`].
//!
//! A workspace path is `/`-separated, shown with a leading `/`, and made of components that
//! are non-empty, not `.` or `..`, free of NUL, control characters and backslashes, and within
//! length limits. Listing by prefix compares whole components (see the metadata store's range
//! query), so `/data_evil` is not inside `/data`.

use std::fmt;

use crate::StoreError;

/// Length limits for paths.
#[derive(Clone, Copy, Debug)]
pub struct PathLimits {
    pub max_path_bytes: usize,
    pub max_component_bytes: usize,
    pub max_depth: usize,
}

impl Default for PathLimits {
    fn default() -> Self {
        Self {
            max_path_bytes: 1024,
            max_component_bytes: 255,
            max_depth: 32,
        }
    }
}

/// A validated, normalised workspace path such as `/finance/2026/q1.csv`.
// INVARIANT: starts with `/`, no empty, `.` or `..` components, no trailing `/`, no control
// characters or backslashes, within the limits it was parsed with.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkspacePath(String);

impl WorkspacePath {
    /// Parses a file path. A leading `/` is optional; `//` and trailing `/` are refused.
    pub fn parse(raw: &str, limits: &PathLimits) -> Result<Self, StoreError> {
        let fail = |why| StoreError::InvalidPath {
            path: printable(raw),
            why,
        };
        if raw.len() > limits.max_path_bytes {
            return Err(fail("path is too long"));
        }
        let body = raw.strip_prefix('/').unwrap_or(raw);
        if body.is_empty() {
            return Err(fail("path is empty"));
        }
        let components: Vec<&str> = body.split('/').collect();
        if components.len() > limits.max_depth {
            return Err(fail("path is nested too deeply"));
        }
        for component in &components {
            check_component(component, limits).map_err(fail)?;
        }
        Ok(Self(format!("/{body}")))
    }

    /// Parses a listing prefix: `/` or empty means the whole workspace; otherwise a directory
    /// path (a trailing `/` is allowed). Matching is by whole components.
    pub fn parse_prefix(raw: &str, limits: &PathLimits) -> Result<Option<Self>, StoreError> {
        let trimmed = raw.trim_end_matches('/');
        if trimmed.is_empty() {
            return Ok(None);
        }
        Self::parse(trimmed, limits).map(Some)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Trusts a path read back from the metadata store (it was validated on the way in).
    pub(crate) fn from_stored(path: String) -> Self {
        Self(path)
    }
}

impl fmt::Display for WorkspacePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn check_component(component: &str, limits: &PathLimits) -> Result<(), &'static str> {
    if component.is_empty() {
        return Err("empty path component (`//` or trailing `/`)");
    }
    if component == "." || component == ".." {
        return Err("`.` and `..` are not allowed");
    }
    if component.len() > limits.max_component_bytes {
        return Err("a path component is too long");
    }
    if component.chars().any(|c| c.is_control()) {
        return Err("control characters (including NUL) are not allowed");
    }
    if component.contains('\\') {
        return Err("backslashes are not allowed");
    }
    if component.chars().all(char::is_whitespace) {
        return Err("a path component cannot be only whitespace");
    }
    Ok(())
}

/// A bounded, escaped rendering of user input for error messages.
fn printable(raw: &str) -> String {
    let mut out: String = raw.chars().take(120).flat_map(char::escape_debug).collect();
    if raw.chars().count() > 120 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, expected: Option<&str>) {
        let got = WorkspacePath::parse(raw, &PathLimits::default()).ok();
        assert_eq!(got.as_ref().map(WorkspacePath::as_str), expected, "{raw:?}");
    }

    #[test]
    fn parsing() {
        check("/a/b.txt", Some("/a/b.txt"));
        check("a/b.txt", Some("/a/b.txt"));
        check("/données/été.csv", Some("/données/été.csv"));
        check("", None);
        check("/", None);
        check("/a//b", None);
        check("/a/", None);
        check("/../etc/passwd", None);
        check("/a/./b", None);
        check("/a/../b", None);
        check("/a\0b", None);
        check("/a\nb", None);
        check("/a\u{1b}[31m", None);
        check("/a\\..\\b", None);
        check("/ /b", None);
        check(&format!("/{}", "x".repeat(256)), None);
        check(
            &format!("/{}", "x".repeat(255)),
            Some(&format!("/{}", "x".repeat(255))),
        );
        check(&"/a".repeat(33), None);
        check(&format!("/{}", "a/".repeat(600)), None);
    }

    #[test]
    fn prefixes_are_directories() {
        let limits = PathLimits::default();
        let data = WorkspacePath::parse("/data", &limits).unwrap();
        assert_eq!(WorkspacePath::parse_prefix("/", &limits).unwrap(), None);
        assert_eq!(
            WorkspacePath::parse_prefix("/data/", &limits).unwrap(),
            Some(data)
        );
    }

    #[test]
    fn errors_escape_input() {
        let err = WorkspacePath::parse("/a\u{1b}b", &PathLimits::default()).unwrap_err();
        assert!(err.to_string().contains("\\u{1b}"), "{err}");
    }
}
