-- Named operator accounts: a password (bcrypt) and an optional TOTP
-- secret; totp_last_step is the last time step a code was accepted for, so
-- that a code is never accepted twice. The admin token stays for the API.
CREATE TABLE operators (
    id             TEXT   PRIMARY KEY,
    name           TEXT   NOT NULL UNIQUE,
    password_hash  TEXT   NOT NULL,
    totp_secret    TEXT   NOT NULL DEFAULT '',
    totp_last_step BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    created_by     TEXT   NOT NULL DEFAULT ''
);

-- An operator session names its operator ('' for the admin token).
ALTER TABLE dashboard_sessions ADD COLUMN operator_id TEXT NOT NULL DEFAULT '';
