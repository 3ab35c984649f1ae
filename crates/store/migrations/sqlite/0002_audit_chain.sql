-- covault schema 2: the audit log becomes a hash chain with signed checkpoints, richer
-- events (session, tier, correlation, user agent, policies/AI/workflow fields), search
-- indexes, retention pruning anchored on checkpoints, and export cursors.
ALTER TABLE audit_events ADD COLUMN session_id TEXT;
ALTER TABLE audit_events ADD COLUMN tier TEXT;
ALTER TABLE audit_events ADD COLUMN correlation_id TEXT;
ALTER TABLE audit_events ADD COLUMN user_agent TEXT;
ALTER TABLE audit_events ADD COLUMN ext TEXT NOT NULL DEFAULT '{}';
-- NULL only for events written before this schema, until they are chained on open.
ALTER TABLE audit_events ADD COLUMN prev_hash BLOB;
ALTER TABLE audit_events ADD COLUMN hash BLOB;

-- Time is the search key that every forensic question narrows by, and it grows with seq, so
-- its index appends at the end. Indexes on principal or path would take a random page per
-- event in every group commit (measured: half the append rate); those filters scan within
-- the time range instead. Correlation ids are looked up exactly and are absent on most events.
CREATE INDEX audit_events_at ON audit_events (at_ms);
CREATE INDEX audit_events_correlation ON audit_events (correlation_id, seq)
    WHERE correlation_id IS NOT NULL;

-- The writer's view of the chain: last position and hash, updated in every transaction that
-- appends. A log shorter than its head was truncated.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash BLOB NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, zeroblob(32));

-- Signed statements of the log's state; the frontier lets verification resume after pruning.
CREATE TABLE audit_checkpoints (
    tree_size INTEGER PRIMARY KEY,
    chain_hash BLOB NOT NULL,
    merkle_root BLOB NOT NULL,
    frontier BLOB NOT NULL,
    at_ms INTEGER NOT NULL,
    public_key TEXT NOT NULL,
    signature TEXT NOT NULL
);

-- Retention: events up to `through_seq` may be deleted, and only while this row says so.
CREATE TABLE audit_prune (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    through_seq INTEGER NOT NULL
);

-- Export sinks: the last position each one has delivered.
CREATE TABLE audit_sinks (
    name TEXT PRIMARY KEY,
    cursor_seq INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);

DROP TRIGGER audit_events_no_update;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
WHEN OLD.hash IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
DROP TRIGGER audit_events_no_delete;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
WHEN NOT EXISTS (SELECT 1 FROM audit_prune WHERE OLD.seq <= through_seq)
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
