//! Inline point reads on SQLite: the one lookup every authenticated request makes (a token
//! with its principal, groups and MFA state) runs on the calling thread over a small pool of
//! read-only rusqlite connections, instead of being handed to sqlx's worker thread and back.
//!
//! Why inline: the lookup is a primary-key read of a few pages that stay in SQLite's cache,
//! a few microseconds of work, where the two thread hand-offs around it cost more CPU than the
//! query (futex wake-ups on both sides) and add latency under load. In WAL mode a reader never
//! waits for the writer, so the calling (async) thread is not held up by commits. Every read
//! is its own autocommit statement and sees every commit made before it began, so a revoked
//! or disabled token is refused from the next request on, exactly as before.

use std::path::PathBuf;
use std::sync::Mutex;

use covault_policy::{Principal, TokenHash, TokenId, TokenScope};
use rusqlite::{Connection, OptionalExtension, Row};

use crate::StoreError;
use crate::audit_log;
use crate::meta::TokenRecord;
use crate::sqlite_identity::{add_memberships, parse_kind};

/// Idle connections kept for reuse (more may be open while many requests read at once).
const MAX_IDLE: usize = 8;

/// The token lookup: the token, its principal, the principal's group memberships (as a JSON
/// array, ordered by group then role) and whether it has a confirmed TOTP factor.
const TOKEN_SQL: &str = "SELECT t.id, t.principal_id, t.hash, t.description, t.created_at_ms, \
     t.expires_at_ms, t.revoked_at_ms, t.last_used_at_ms, t.last_used_addr, t.scope, \
     t.rotated_from, t.rotated_at_ms, \
     p.id AS p_id, p.name AS p_name, p.kind AS p_kind, p.role AS p_role, p.enabled AS p_enabled, \
     (SELECT json_group_array(json_array(m.group_name, r.role) ORDER BY m.group_name, r.role) \
      FROM group_members m LEFT JOIN group_roles r ON r.group_name = m.group_name \
      WHERE m.principal_id = p.id) AS p_memberships, \
     EXISTS (SELECT 1 FROM mfa_totp WHERE principal_id = p.id \
             AND confirmed_at_ms IS NOT NULL) AS p_mfa \
     FROM tokens t JOIN principals p ON p.id = t.principal_id WHERE t.id = ?1";

/// A pool of read-only connections used on the caller's thread.
pub(crate) struct InlineReader {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl InlineReader {
    pub(crate) fn new(path: PathBuf) -> Self {
        InlineReader {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `read` on an idle connection (opening one if none is idle). A connection whose
    /// read failed is closed rather than reused.
    fn with<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let reused = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match reused {
            Some(conn) => conn,
            None => audit_log::reader(&self.path)?,
        };
        let result = read(&conn);
        if result.is_ok()
            && let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(conn);
        }
        result
    }

    /// The token with this id and its principal (groups, group roles and MFA state filled
    /// in), or `None` if there is no such token.
    pub(crate) fn token(
        &self,
        id: &TokenId,
    ) -> Result<Option<(TokenRecord, Principal)>, StoreError> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(TOKEN_SQL)?;
            let row = stmt
                .query_row([id.as_str()], |row| Ok(token_row(row)))
                .optional()?;
            row.transpose()
        })
    }
}

fn token_row(row: &Row<'_>) -> Result<(TokenRecord, Principal), StoreError> {
    let hash: Vec<u8> = row.get("hash")?;
    let scope: String = row.get("scope")?;
    let scope: TokenScope = serde_json::from_str(&scope)
        .map_err(|e| StoreError::Corrupt(format!("bad token scope: {e}")))?;
    let rotated_from: Option<String> = row.get("rotated_from")?;
    let token = TokenRecord {
        id: TokenId::from_stored(row.get("id")?),
        principal_id: row.get("principal_id")?,
        hash: TokenHash::from_stored(&hash)
            .ok_or_else(|| StoreError::Corrupt("bad token hash".into()))?,
        description: row.get("description")?,
        created_at_ms: row.get("created_at_ms")?,
        expires_at_ms: row.get("expires_at_ms")?,
        revoked_at_ms: row.get("revoked_at_ms")?,
        last_used_at_ms: row.get("last_used_at_ms")?,
        last_used_addr: row.get("last_used_addr")?,
        scope,
        rotated_from: rotated_from.map(TokenId::from_stored),
        rotated_at_ms: row.get("rotated_at_ms")?,
    };
    let kind: String = row.get("p_kind")?;
    let mut principal = Principal {
        id: row.get("p_id")?,
        name: row.get("p_name")?,
        kind: parse_kind(&kind)?,
        role: row.get("p_role")?,
        enabled: row.get("p_enabled")?,
        groups: Vec::new(),
        group_roles: Vec::new(),
        mfa_enrolled: row.get("p_mfa")?,
    };
    let memberships: String = row.get("p_memberships")?;
    let memberships: Vec<(String, Option<String>)> = serde_json::from_str(&memberships)
        .map_err(|e| StoreError::Corrupt(format!("bad group memberships: {e}")))?;
    add_memberships(&mut principal, memberships);
    Ok((token, principal))
}
