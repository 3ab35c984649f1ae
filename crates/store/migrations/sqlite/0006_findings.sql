-- covault schema 6: each version records what the scanner found in it — the document format,
-- finding types and counts, hidden-content counts, whether extraction succeeded and whether
-- the version awaits review — as JSON. Never a value, never text.
ALTER TABLE versions ADD COLUMN findings TEXT;
