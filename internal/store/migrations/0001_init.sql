-- Initial schema: operator settings, partners, projects, channels, the days ledger.
-- Portable SQL for SQLite and PostgreSQL; {{AUTO_ID}} is filled in per dialect.
-- Times are epoch milliseconds (BIGINT), hashes are lowercase hex (TEXT).

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE partners (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    email         TEXT NOT NULL UNIQUE,
    token_hash    TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL DEFAULT '',
    balance       BIGINT NOT NULL DEFAULT 0 CHECK (balance >= 0),
    trial_days    INTEGER NOT NULL DEFAULT -1,
    settings      TEXT NOT NULL DEFAULT '{}',
    created_at    BIGINT NOT NULL
);

CREATE TABLE projects (
    partner_id TEXT NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    id         TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (partner_id, id)
);

CREATE TABLE channels (
    id          TEXT PRIMARY KEY,
    partner_id  TEXT NOT NULL REFERENCES partners (id),
    project_id  TEXT NOT NULL,
    name        TEXT NOT NULL,
    phone       TEXT NOT NULL DEFAULT '',
    token       TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    mode        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    trial_until BIGINT NOT NULL,
    active_till BIGINT NOT NULL,
    stopped     BOOLEAN NOT NULL DEFAULT FALSE,
    expired_at  BIGINT,
    FOREIGN KEY (partner_id, project_id) REFERENCES projects (partner_id, id)
);
CREATE INDEX channels_by_partner ON channels (partner_id, created_at, id);
CREATE INDEX channels_by_project ON channels (partner_id, project_id, created_at, id);
CREATE INDEX channels_by_active_till ON channels (active_till);

-- One row per channel ever created, kept after deletes, for the creation rate limit.
CREATE TABLE channel_creations (
    partner_id TEXT NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    channel_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX channel_creations_by_partner ON channel_creations (partner_id, created_at);

-- Append-only: every change of a partner's balance. balance = SUM(delta).
CREATE TABLE ledger (
    id            {{AUTO_ID}},
    partner_id    TEXT NOT NULL REFERENCES partners (id),
    channel_id    TEXT NOT NULL DEFAULT '',
    delta         BIGINT NOT NULL,
    balance_after BIGINT NOT NULL,
    reason        TEXT NOT NULL,
    comment       TEXT NOT NULL DEFAULT '',
    actor         TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX ledger_by_partner ON ledger (partner_id, id);
