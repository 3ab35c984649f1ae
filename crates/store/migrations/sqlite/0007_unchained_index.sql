-- covault schema 7: events still outside the hash chain (written under schema 1) are found
-- through this partial index when a workspace opens, instead of by scanning the whole audit
-- log. It stays empty: every event written since schema 2 carries its hash.
CREATE INDEX audit_events_unchained ON audit_events (seq) WHERE hash IS NULL;
