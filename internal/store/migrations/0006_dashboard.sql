-- The dashboard's state, kept in the database so several nodes on one
-- PostgreSQL share it: login sessions and failed login attempts (for the
-- login rate limit).

CREATE TABLE dashboard_sessions (
    -- token_hash is the hex SHA-256 of the session cookie's value: the
    -- database never holds a usable session token.
    token_hash TEXT   PRIMARY KEY,
    -- kind is "partner" or "operator"; partner_id is '' for operators.
    kind       TEXT   NOT NULL,
    partner_id TEXT   NOT NULL DEFAULT '',
    -- csrf is the session's secret for CSRF tokens and signed flashes.
    csrf       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);
CREATE INDEX dashboard_sessions_partner ON dashboard_sessions (partner_id);

CREATE TABLE dashboard_login_failures (
    id  {{AUTO_ID}},
    -- key is what the limit counts by: "ip:<address>" or "account:<email>".
    key TEXT   NOT NULL,
    at  BIGINT NOT NULL
);
CREATE INDEX dashboard_login_failures_key ON dashboard_login_failures (key, at);
CREATE INDEX dashboard_login_failures_at ON dashboard_login_failures (at);
