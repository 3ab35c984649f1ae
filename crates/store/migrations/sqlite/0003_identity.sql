-- covault schema 3: identity and least privilege. Groups and the roles they grant, token
-- scopes / allowlists / rotation, TOTP enrolment (secret encrypted under the workspace
-- identity key) with hashed single-use recovery codes, file owners for policy, and when each
-- principal last exercised each role (for access review).
-- When the current role was granted (access review: stale admin grants).
ALTER TABLE principals ADD COLUMN role_granted_at_ms INTEGER;
UPDATE principals SET role_granted_at_ms = created_at_ms;

CREATE TABLE groups (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    created_at_ms INTEGER NOT NULL
);
CREATE TABLE group_roles (
    group_name TEXT NOT NULL REFERENCES groups (name) ON DELETE CASCADE,
    role TEXT NOT NULL,
    granted_at_ms INTEGER NOT NULL,
    PRIMARY KEY (group_name, role)
);
CREATE TABLE group_members (
    group_name TEXT NOT NULL REFERENCES groups (name) ON DELETE CASCADE,
    principal_id TEXT NOT NULL REFERENCES principals (id),
    added_at_ms INTEGER NOT NULL,
    PRIMARY KEY (group_name, principal_id)
);
CREATE INDEX group_members_principal ON group_members (principal_id);

-- Token scope (JSON: actions, paths, max_tier, providers, models, allowed_ips).
ALTER TABLE tokens ADD COLUMN scope TEXT NOT NULL DEFAULT '{}';
-- Rotation: the token this one replaced; the old one's secret stays valid until
-- `rotated_at_ms + overlap`, recorded as its expiry.
ALTER TABLE tokens ADD COLUMN rotated_from TEXT;
ALTER TABLE tokens ADD COLUMN rotated_at_ms INTEGER;
CREATE INDEX tokens_principal ON tokens (principal_id);

CREATE TABLE mfa_totp (
    principal_id TEXT PRIMARY KEY REFERENCES principals (id),
    -- AES-256-GCM under the identity key, bound to the principal id.
    secret_ciphertext BLOB NOT NULL,
    -- Enrolment is confirmed by a first valid code; until then it does not count.
    confirmed_at_ms INTEGER,
    last_step INTEGER,
    -- Wrong codes in a row; at the limit, codes are refused until locked_until_ms.
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until_ms INTEGER,
    created_at_ms INTEGER NOT NULL
);
CREATE TABLE mfa_recovery_codes (
    principal_id TEXT NOT NULL REFERENCES principals (id),
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    used_at_ms INTEGER,
    PRIMARY KEY (principal_id, idx)
);

-- Who created each file: the owner attribute policies see.
ALTER TABLE files ADD COLUMN owner TEXT;

-- Last time a decision permitted by a role's policies was made for a principal.
CREATE TABLE role_usage (
    principal_id TEXT NOT NULL,
    role TEXT NOT NULL,
    last_exercised_at_ms INTEGER NOT NULL,
    PRIMARY KEY (principal_id, role)
);
