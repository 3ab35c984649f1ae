-- covault schema 5: the AI gateway. Provider API keys are stored only sealed under the
-- keyring's secret-box key, bound to the provider's name. Token usage per subject (a principal
-- or a provider) and calendar month (UTC, `YYYY-MM`) backs the monthly budgets; it moves in the
-- same transaction as the call's audit event.
CREATE TABLE provider_keys (
    name TEXT PRIMARY KEY,
    sealed_key BLOB NOT NULL,
    set_at_ms INTEGER NOT NULL
);

CREATE TABLE ai_usage (
    subject TEXT NOT NULL,
    month TEXT NOT NULL,
    tokens INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    PRIMARY KEY (subject, month)
);
