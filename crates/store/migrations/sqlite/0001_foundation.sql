-- covault schema 1: keyring, principals and tokens, files and versions, audit events.
CREATE TABLE keks (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL CHECK (source IN ('passphrase', 'key-file')),
    kdf_salt BLOB,
    kdf_m_kib INTEGER,
    kdf_t INTEGER,
    kdf_p INTEGER,
    check_value BLOB,
    created_at_ms INTEGER NOT NULL,
    retired_at_ms INTEGER
);
CREATE UNIQUE INDEX keks_one_active ON keks ((1)) WHERE retired_at_ms IS NULL;

CREATE TABLE workspace_keys (
    name TEXT PRIMARY KEY,
    kek_id TEXT NOT NULL REFERENCES keks (id),
    wrapped BLOB NOT NULL
);

CREATE TABLE principals (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('user', 'service', 'operator')),
    role TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL REFERENCES principals (id),
    hash BLOB NOT NULL,
    description TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER,
    revoked_at_ms INTEGER,
    last_used_at_ms INTEGER,
    last_used_addr TEXT
);

CREATE TABLE files (
    id TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    tier TEXT NOT NULL CHECK (tier IN ('public', 'internal', 'confidential', 'restricted')),
    current_version INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    deleted_at_ms INTEGER,
    purged_at_ms INTEGER
);
CREATE UNIQUE INDEX files_live_path ON files (path) WHERE purged_at_ms IS NULL;

CREATE TABLE versions (
    file_id TEXT NOT NULL REFERENCES files (id),
    version INTEGER NOT NULL,
    version_id TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    content_hash BLOB NOT NULL,
    author TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    tier TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('write', 'restore')),
    restored_from INTEGER,
    kek_id TEXT REFERENCES keks (id),
    wrapped_key BLOB,
    storage TEXT NOT NULL CHECK (storage IN ('blob', 'inline')),
    PRIMARY KEY (file_id, version)
);

-- Sealed bytes (ciphertext only) of small versions, kept beside their metadata so a small
-- write costs no file creation or fsync of its own.
CREATE TABLE inline_blobs (
    version_id TEXT PRIMARY KEY REFERENCES versions (version_id),
    data BLOB NOT NULL
);

CREATE TABLE audit_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms INTEGER NOT NULL,
    principal TEXT,
    token_id TEXT,
    action TEXT NOT NULL,
    path TEXT,
    version INTEGER,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    request_id TEXT,
    remote_addr TEXT,
    detail TEXT NOT NULL
);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
