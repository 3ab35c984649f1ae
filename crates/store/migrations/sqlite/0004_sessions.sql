-- covault schema 4: browser sessions (after SSO) and the identities an OpenID provider vouches
-- for. Session and CSRF secrets are stored only as SHA-256 hashes.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    hash BLOB NOT NULL,
    csrf_hash BLOB NOT NULL,
    principal_id TEXT NOT NULL REFERENCES principals (id),
    created_at_ms INTEGER NOT NULL,
    last_seen_at_ms INTEGER NOT NULL,
    -- Absolute end; the idle timeout is checked against last_seen_at_ms.
    expires_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER,
    remote_addr TEXT,
    user_agent TEXT
);
CREATE INDEX sessions_principal ON sessions (principal_id);

CREATE TABLE external_identities (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    principal_id TEXT NOT NULL REFERENCES principals (id),
    email TEXT,
    created_at_ms INTEGER NOT NULL,
    last_login_at_ms INTEGER NOT NULL,
    PRIMARY KEY (issuer, subject)
);
