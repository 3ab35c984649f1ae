//! [`IdentityStore`] for SQLite, and the principal / token row mapping the rest of the SQLite
//! store shares. Administrative changes run in sqlx `BEGIN IMMEDIATE` transactions with their
//! chained audit event; reads resolve a principal's groups, group roles and MFA state.

use std::collections::BTreeMap;

use async_trait::async_trait;
use covault_audit::AuditEvent;
use covault_crypto::WrappedKey;
use covault_policy::{Principal, PrincipalKind, TokenHash, TokenId, TokenScope};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, SqlitePool, Transaction};

use crate::StoreError;
use crate::audit_log::append_sqlx;
use crate::identity::{
    GroupRecord, IdentityStore, PrincipalChange, PrincipalRecord, RoleUse, TotpRecord,
};
use crate::meta::TokenRecord;
use crate::sqlite::{SECRET_KEY_NAME, SqliteMetadata};

pub(crate) async fn insert_principal(
    tx: &mut Transaction<'static, Sqlite>,
    p: &Principal,
    at_ms: i64,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "INSERT INTO principals (id, name, kind, role, enabled, created_at_ms, role_granted_at_ms) \
         VALUES ($1,$2,$3,$4,$5,$6,$6) ON CONFLICT DO NOTHING",
    )
    .bind(p.id.clone())
    .bind(p.name.clone())
    .bind(p.kind.as_str())
    .bind(p.role.clone())
    .bind(p.enabled)
    .bind(at_ms)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict(format!(
            "a principal named `{}` already exists",
            p.name
        )));
    }
    Ok(())
}

pub(crate) async fn insert_token(
    tx: &mut Transaction<'static, Sqlite>,
    t: &TokenRecord,
) -> Result<(), StoreError> {
    let scope = serde_json::to_string(&t.scope)
        .map_err(|e| StoreError::Corrupt(format!("token scope: {e}")))?;
    sqlx::query(
        "INSERT INTO tokens (id, principal_id, hash, description, created_at_ms, expires_at_ms, \
         scope, rotated_from) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
    )
    .bind(t.id.as_str().to_owned())
    .bind(t.principal_id.clone())
    .bind(t.hash.as_bytes().to_vec())
    .bind(t.description.clone())
    .bind(t.created_at_ms)
    .bind(t.expires_at_ms)
    .bind(scope)
    .bind(t.rotated_from.as_ref().map(|id| id.as_str().to_owned()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(crate) fn parse_kind(text: &str) -> Result<PrincipalKind, StoreError> {
    match text {
        "user" => Ok(PrincipalKind::User),
        "service" => Ok(PrincipalKind::Service),
        "operator" => Ok(PrincipalKind::Operator),
        other => Err(StoreError::Corrupt(format!(
            "unknown principal kind `{other}`"
        ))),
    }
}

/// The principal columns of `row` (named `{prefix}id`, …), without groups.
pub(crate) fn principal_from_row(row: &SqliteRow, prefix: &str) -> Result<Principal, StoreError> {
    let col = |name: &str| format!("{prefix}{name}");
    let kind: String = row.try_get(col("kind").as_str())?;
    Ok(Principal {
        id: row.try_get(col("id").as_str())?,
        name: row.try_get(col("name").as_str())?,
        kind: parse_kind(&kind)?,
        role: row.try_get(col("role").as_str())?,
        enabled: row.try_get(col("enabled").as_str())?,
        groups: Vec::new(),
        group_roles: Vec::new(),
        mfa_enrolled: false,
    })
}

pub(crate) fn token_from_row(row: &SqliteRow) -> Result<TokenRecord, StoreError> {
    let hash: Vec<u8> = row.try_get("hash")?;
    let scope: String = row.try_get("scope")?;
    let scope: TokenScope = serde_json::from_str(&scope)
        .map_err(|e| StoreError::Corrupt(format!("bad token scope: {e}")))?;
    let rotated_from: Option<String> = row.try_get("rotated_from")?;
    Ok(TokenRecord {
        id: TokenId::from_stored(row.try_get("id")?),
        principal_id: row.try_get("principal_id")?,
        hash: TokenHash::from_stored(&hash)
            .ok_or_else(|| StoreError::Corrupt("bad token hash".into()))?,
        description: row.try_get("description")?,
        created_at_ms: row.try_get("created_at_ms")?,
        expires_at_ms: row.try_get("expires_at_ms")?,
        revoked_at_ms: row.try_get("revoked_at_ms")?,
        last_used_at_ms: row.try_get("last_used_at_ms")?,
        last_used_addr: row.try_get("last_used_addr")?,
        scope,
        rotated_from: rotated_from.map(TokenId::from_stored),
        rotated_at_ms: row.try_get("rotated_at_ms")?,
    })
}

/// Adds `(group, role of that group)` rows, ordered by group then role, to a principal: each
/// group once, and each group role other than the principal's own role once.
pub(crate) fn add_memberships(
    principal: &mut Principal,
    rows: impl IntoIterator<Item = (String, Option<String>)>,
) {
    for (group, role) in rows {
        if principal.groups.last() != Some(&group) {
            principal.groups.push(group);
        }
        if let Some(role) = role
            && role != principal.role
            && !principal.group_roles.contains(&role)
        {
            principal.group_roles.push(role);
        }
    }
}

/// Fills in a principal's groups, group roles and MFA state.
pub(crate) async fn complete_principal(
    pool: &SqlitePool,
    principal: &mut Principal,
) -> Result<(), StoreError> {
    let rows = sqlx::query(
        "SELECT m.group_name, r.role FROM group_members m \
         LEFT JOIN group_roles r ON r.group_name = m.group_name \
         WHERE m.principal_id = $1 ORDER BY m.group_name, r.role",
    )
    .bind(principal.id.clone())
    .fetch_all(pool)
    .await?;
    let memberships = rows
        .iter()
        .map(|row| Ok((row.try_get("group_name")?, row.try_get("role")?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    add_memberships(principal, memberships);
    principal.mfa_enrolled = sqlx::query(
        "SELECT 1 FROM mfa_totp WHERE principal_id = $1 AND confirmed_at_ms IS NOT NULL",
    )
    .bind(principal.id.clone())
    .fetch_optional(pool)
    .await?
    .is_some();
    Ok(())
}

fn record_from_row(row: &SqliteRow) -> Result<PrincipalRecord, StoreError> {
    Ok(PrincipalRecord {
        principal: principal_from_row(row, "")?,
        created_at_ms: row.try_get("created_at_ms")?,
        role_granted_at_ms: row.try_get("role_granted_at_ms")?,
    })
}

fn step_to_i64(step: u64) -> Result<i64, StoreError> {
    i64::try_from(step).map_err(|_| StoreError::Corrupt("TOTP step out of range".into()))
}

impl SqliteMetadata {
    async fn id_tx(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

#[async_trait]
impl IdentityStore for SqliteMetadata {
    async fn principals(&self) -> Result<Vec<PrincipalRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM principals ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut record = record_from_row(row)?;
            complete_principal(&self.pool, &mut record.principal).await?;
            out.push(record);
        }
        Ok(out)
    }

    async fn principal(&self, id_or_name: &str) -> Result<Option<PrincipalRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM principals WHERE id = $1 UNION ALL \
             SELECT * FROM principals WHERE name = $1 AND id <> $1 LIMIT 1",
        )
        .bind(id_or_name.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut record = record_from_row(&row)?;
        complete_principal(&self.pool, &mut record.principal).await?;
        Ok(Some(record))
    }

    async fn update_principal(
        &self,
        id: &str,
        change: &PrincipalChange,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.id_tx().await?;
        let done = sqlx::query(
            "UPDATE principals SET \
               role_granted_at_ms = CASE WHEN $2 IS NOT NULL AND $2 <> role THEN $4 ELSE role_granted_at_ms END, \
               role = COALESCE($2, role), enabled = COALESCE($3, enabled) \
             WHERE id = $1 AND kind <> 'operator'",
        )
        .bind(id.to_owned())
        .bind(change.role.clone())
        .bind(change.enabled)
        .bind(event.at_ms)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound(format!("principal {id}")));
        }
        append_sqlx(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn groups(&self) -> Result<Vec<GroupRecord>, StoreError> {
        let mut groups: BTreeMap<String, GroupRecord> = BTreeMap::new();
        for row in sqlx::query("SELECT * FROM groups")
            .fetch_all(&self.pool)
            .await?
        {
            let name: String = row.try_get("name")?;
            groups.insert(
                name.clone(),
                GroupRecord {
                    name,
                    description: row.try_get("description")?,
                    roles: Vec::new(),
                    members: Vec::new(),
                    created_at_ms: row.try_get("created_at_ms")?,
                },
            );
        }
        for row in sqlx::query("SELECT group_name, role FROM group_roles ORDER BY role")
            .fetch_all(&self.pool)
            .await?
        {
            let name: String = row.try_get("group_name")?;
            if let Some(g) = groups.get_mut(&name) {
                g.roles.push(row.try_get("role")?);
            }
        }
        for row in
            sqlx::query("SELECT group_name, principal_id FROM group_members ORDER BY principal_id")
                .fetch_all(&self.pool)
                .await?
        {
            let name: String = row.try_get("group_name")?;
            if let Some(g) = groups.get_mut(&name) {
                g.members.push(row.try_get("principal_id")?);
            }
        }
        Ok(groups.into_values().collect())
    }

    async fn put_group(
        &self,
        name: &str,
        description: &str,
        roles: &[String],
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.id_tx().await?;
        sqlx::query(
            "INSERT INTO groups (name, description, created_at_ms) VALUES ($1,$2,$3) \
             ON CONFLICT (name) DO UPDATE SET description = excluded.description",
        )
        .bind(name.to_owned())
        .bind(description.to_owned())
        .bind(event.at_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM group_roles WHERE group_name = $1")
            .bind(name.to_owned())
            .execute(&mut *tx)
            .await?;
        for role in roles {
            sqlx::query(
                "INSERT INTO group_roles (group_name, role, granted_at_ms) VALUES ($1,$2,$3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(name.to_owned())
            .bind(role.clone())
            .bind(event.at_ms)
            .execute(&mut *tx)
            .await?;
        }
        append_sqlx(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_group(&self, name: &str, event: &AuditEvent) -> Result<(), StoreError> {
        let mut tx = self.id_tx().await?;
        for sql in [
            "DELETE FROM group_members WHERE group_name = $1",
            "DELETE FROM group_roles WHERE group_name = $1",
        ] {
            sqlx::query(sql)
                .bind(name.to_owned())
                .execute(&mut *tx)
                .await?;
        }
        let done = sqlx::query("DELETE FROM groups WHERE name = $1")
            .bind(name.to_owned())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound(format!("group {name}")));
        }
        append_sqlx(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_group_member(
        &self,
        group: &str,
        principal_id: &str,
        member: bool,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.id_tx().await?;
        let exists = sqlx::query("SELECT 1 FROM groups WHERE name = $1")
            .bind(group.to_owned())
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !exists {
            return Err(StoreError::NotFound(format!("group {group}")));
        }
        if member {
            sqlx::query(
                "INSERT INTO group_members (group_name, principal_id, added_at_ms) \
                 VALUES ($1,$2,$3) ON CONFLICT DO NOTHING",
            )
            .bind(group.to_owned())
            .bind(principal_id.to_owned())
            .bind(event.at_ms)
            .execute(&mut *tx)
            .await?;
        } else {
            sqlx::query("DELETE FROM group_members WHERE group_name = $1 AND principal_id = $2")
                .bind(group.to_owned())
                .bind(principal_id.to_owned())
                .execute(&mut *tx)
                .await?;
        }
        append_sqlx(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn tokens(&self, principal_id: Option<&str>) -> Result<Vec<TokenRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM tokens WHERE $1 IS NULL OR principal_id = $1 ORDER BY created_at_ms, id",
        )
        .bind(principal_id.map(str::to_owned))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    async fn insert_token(
        &self,
        token: &TokenRecord,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.id_tx().await?;
        insert_token(&mut tx, token).await?;
        append_sqlx(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn revoke_token(
        &self,
        id: &TokenId,
        at_ms: i64,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.id_tx().await?;
        let done = sqlx::query(
            "UPDATE tokens SET revoked_at_ms = $2 WHERE id = $1 AND revoked_at_ms IS NULL",
        )
        .bind(id.as_str().to_owned())
        .bind(at_ms)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            // Nothing changed: no success event (the caller records the failure).
            return Ok(false);
        }
        append_sqlx(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn rotate_token(
        &self,
        old: &TokenId,
        old_expires_at_ms: i64,
        new: &TokenRecord,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.id_tx().await?;
        let done = sqlx::query(
            "UPDATE tokens SET rotated_at_ms = $2, \
               expires_at_ms = CASE WHEN expires_at_ms IS NULL OR expires_at_ms > $3 THEN $3 ELSE expires_at_ms END \
             WHERE id = $1 AND revoked_at_ms IS NULL AND rotated_at_ms IS NULL \
               AND (expires_at_ms IS NULL OR expires_at_ms > $2)",
        )
        .bind(old.as_str().to_owned())
        .bind(event.at_ms)
        .bind(old_expires_at_ms)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict(format!(
                "token {old} was revoked or already rotated: rotate its successor instead"
            )));
        }
        insert_token(&mut tx, new).await?;
        append_sqlx(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn totp(&self, principal_id: &str) -> Result<Option<TotpRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM mfa_totp WHERE principal_id = $1")
            .bind(principal_id.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            let last: Option<i64> = row.try_get("last_step")?;
            Ok(TotpRecord {
                sealed_secret: row.try_get("secret_ciphertext")?,
                confirmed_at_ms: row.try_get("confirmed_at_ms")?,
                last_step: last.and_then(|s| u64::try_from(s).ok()),
                created_at_ms: row.try_get("created_at_ms")?,
                locked_until_ms: row.try_get("locked_until_ms")?,
            })
        })
        .transpose()
    }

    async fn begin_totp(
        &self,
        principal_id: &str,
        sealed_secret: &[u8],
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.id_tx().await?;
        let done = sqlx::query(
            "INSERT INTO mfa_totp (principal_id, secret_ciphertext, created_at_ms) VALUES ($1,$2,$3) \
             ON CONFLICT (principal_id) DO UPDATE SET secret_ciphertext = excluded.secret_ciphertext, \
               created_at_ms = excluded.created_at_ms, last_step = NULL \
             WHERE mfa_totp.confirmed_at_ms IS NULL",
        )
        .bind(principal_id.to_owned())
        .bind(sealed_secret.to_vec())
        .bind(event.at_ms)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict(
                "an authenticator is already enrolled: an admin must reset it first (covault mfa reset)"
                    .into(),
            ));
        }
        append_sqlx(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn confirm_totp(
        &self,
        principal_id: &str,
        sealed_secret: &[u8],
        step: u64,
        recovery_hashes: &[[u8; 32]],
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.id_tx().await?;
        // Only the secret the code was checked against is confirmed (not one a concurrent
        // enrolment put in its place).
        let done = sqlx::query(
            "UPDATE mfa_totp SET confirmed_at_ms = $2, last_step = $3 \
             WHERE principal_id = $1 AND confirmed_at_ms IS NULL AND secret_ciphertext = $4",
        )
        .bind(principal_id.to_owned())
        .bind(event.at_ms)
        .bind(step_to_i64(step)?)
        .bind(sealed_secret.to_vec())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict(
                "no pending enrolment to confirm: start one with `covault mfa enroll`".into(),
            ));
        }
        sqlx::query("DELETE FROM mfa_recovery_codes WHERE principal_id = $1")
            .bind(principal_id.to_owned())
            .execute(&mut *tx)
            .await?;
        for (idx, hash) in recovery_hashes.iter().enumerate() {
            sqlx::query(
                "INSERT INTO mfa_recovery_codes (principal_id, idx, hash) VALUES ($1,$2,$3)",
            )
            .bind(principal_id.to_owned())
            .bind(i64::try_from(idx).unwrap_or(i64::MAX))
            .bind(hash.to_vec())
            .execute(&mut *tx)
            .await?;
        }
        append_sqlx(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn use_totp_step(&self, principal_id: &str, step: u64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE mfa_totp SET last_step = $2, failed_attempts = 0 WHERE principal_id = $1 \
             AND confirmed_at_ms IS NOT NULL AND (last_step IS NULL OR last_step < $2)",
        )
        .bind(principal_id.to_owned())
        .bind(step_to_i64(step)?)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn totp_failed(
        &self,
        principal_id: &str,
        max: i64,
        lock_until_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE mfa_totp SET failed_attempts = failed_attempts + 1, \
               locked_until_ms = CASE WHEN failed_attempts + 1 >= $2 THEN $3 ELSE locked_until_ms END \
             WHERE principal_id = $1",
        )
        .bind(principal_id.to_owned())
        .bind(max)
        .bind(lock_until_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn recovery_codes(&self, principal_id: &str) -> Result<Vec<(i64, [u8; 32])>, StoreError> {
        let rows = sqlx::query(
            "SELECT idx, hash FROM mfa_recovery_codes WHERE principal_id = $1 AND used_at_ms IS NULL ORDER BY idx",
        )
        .bind(principal_id.to_owned())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let hash: Vec<u8> = row.try_get("hash")?;
                let hash = <[u8; 32]>::try_from(hash.as_slice())
                    .map_err(|_| StoreError::Corrupt("bad recovery code hash".into()))?;
                Ok((row.try_get("idx")?, hash))
            })
            .collect()
    }

    async fn use_recovery_code(
        &self,
        principal_id: &str,
        index: i64,
        at_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE mfa_recovery_codes SET used_at_ms = $3 \
             WHERE principal_id = $1 AND idx = $2 AND used_at_ms IS NULL",
        )
        .bind(principal_id.to_owned())
        .bind(index)
        .bind(at_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_totp(&self, principal_id: &str, event: &AuditEvent) -> Result<(), StoreError> {
        let mut tx = self.id_tx().await?;
        sqlx::query("DELETE FROM mfa_recovery_codes WHERE principal_id = $1")
            .bind(principal_id.to_owned())
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM mfa_totp WHERE principal_id = $1")
            .bind(principal_id.to_owned())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound(format!(
                "authenticator of principal {principal_id}"
            )));
        }
        append_sqlx(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_role_use(
        &self,
        principal_id: &str,
        roles: &[String],
        at_ms: i64,
    ) -> Result<(), StoreError> {
        for role in roles {
            sqlx::query(
                "INSERT INTO role_usage (principal_id, role, last_exercised_at_ms) VALUES ($1,$2,$3) \
                 ON CONFLICT (principal_id, role) DO UPDATE SET last_exercised_at_ms = \
                   MAX(last_exercised_at_ms, excluded.last_exercised_at_ms)",
            )
            .bind(principal_id.to_owned())
            .bind(role.clone())
            .bind(at_ms)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    async fn role_usage(&self) -> Result<Vec<RoleUse>, StoreError> {
        let rows = sqlx::query("SELECT * FROM role_usage ORDER BY principal_id, role")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(RoleUse {
                    principal_id: row.try_get("principal_id")?,
                    role: row.try_get("role")?,
                    last_exercised_at_ms: row.try_get("last_exercised_at_ms")?,
                })
            })
            .collect()
    }

    async fn secret_key(&self) -> Result<Option<WrappedKey>, StoreError> {
        self.workspace_key(SECRET_KEY_NAME).await
    }

    async fn add_secret_key(&self, key: &WrappedKey) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO workspace_keys (name, kek_id, wrapped) VALUES ($1,$2,$3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(SECRET_KEY_NAME)
        .bind(key.kek_id.as_str().to_owned())
        .bind(key.bytes.clone())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
