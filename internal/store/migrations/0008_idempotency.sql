-- Idempotency-Key records of the money-moving and creating calls of the
-- partner and operator APIs. A key is written in the same transaction as
-- the change it guards (status 0), then its answer (status and body,
-- sealed with a key derived from the Idempotency-Key, which only the client
-- knows); expired rows are pruned. IF NOT EXISTS: it may run again on a
-- schema that has it (a test steps back to an older version).
CREATE TABLE IF NOT EXISTS idempotency_keys (
    scope       TEXT NOT NULL,
    key_hash    TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      INTEGER NOT NULL DEFAULT 0,
    response    TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (scope, key_hash)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_by_expiry ON idempotency_keys (expires_at);
