//! Schema migrations, embedded in the binary and applied in order inside one transaction each.
//!
//! A small runner instead of `sqlx::migrate!` keeps sqlx's macro stack out of the build; each
//! backend has its own list, numbered alike, so PostgreSQL can follow the same versions.

/// SQLite migrations: (version, SQL).
pub(crate) const SQLITE: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_foundation.sql")),
    (2, include_str!("../migrations/sqlite/0002_audit_chain.sql")),
    (3, include_str!("../migrations/sqlite/0003_identity.sql")),
    (4, include_str!("../migrations/sqlite/0004_sessions.sql")),
    (5, include_str!("../migrations/sqlite/0005_gateway.sql")),
    (6, include_str!("../migrations/sqlite/0006_findings.sql")),
    (
        7,
        include_str!("../migrations/sqlite/0007_unchained_index.sql"),
    ),
];

/// The newest schema this build knows.
pub(crate) fn latest(list: &[(i64, &str)]) -> i64 {
    list.last().map_or(0, |(v, _)| *v)
}
