-- The webhook outbox: one row per event and target, written in the same
-- transaction as the state change it reports, then delivered at least once
-- by the dispatcher (internal/webhook). Rows are not tied to channels by a
-- foreign key: a channel's last events (stopped, deleted) must outlive it.

CREATE TABLE webhook_deliveries (
    -- seq orders deliveries: one target's deliveries with the same chat_key
    -- go out in seq order.
    seq             {{AUTO_ID}},
    id              TEXT    NOT NULL UNIQUE,
    event_id        TEXT    NOT NULL,
    partner_id      TEXT    NOT NULL,
    channel_id      TEXT    NOT NULL DEFAULT '',
    type            TEXT    NOT NULL,
    method          TEXT    NOT NULL,
    chat_key        TEXT    NOT NULL DEFAULT '',
    -- target_key identifies the webhook (partner, channel, URL, mode);
    -- receiver is the server it points to ("https://host:port").
    target_key      TEXT    NOT NULL,
    receiver        TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    mode            TEXT    NOT NULL,
    headers         TEXT    NOT NULL DEFAULT '{}',
    secret          TEXT    NOT NULL DEFAULT '',
    backoff_ms      INTEGER NOT NULL DEFAULT 0,
    max_backoff_ms  INTEGER NOT NULL DEFAULT 0,
    max_age_s       INTEGER NOT NULL DEFAULT 0,
    payload         TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- next_attempt_at is also the end of a claim's lease while one holds:
    -- a worker that dies leaves a row that is due again when it ends.
    next_attempt_at BIGINT  NOT NULL,
    claimed_until   BIGINT  NOT NULL DEFAULT 0,
    expires_at      BIGINT  NOT NULL DEFAULT 0,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    delivered_at    BIGINT  NOT NULL DEFAULT 0,
    finished_at     BIGINT  NOT NULL DEFAULT 0
);
-- The claim: due pending rows in order, and the "is there an older pending
-- row for this target and chat" probe.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (target_key, chat_key, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_expiry ON webhook_deliveries (expires_at) WHERE status = 'pending' AND expires_at > 0;
-- The delivery log and retention.
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (partner_id, channel_id, seq);
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE status <> 'pending';

CREATE TABLE webhook_attempts (
    delivery_id TEXT    NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    n           INTEGER NOT NULL,
    at          BIGINT  NOT NULL,
    status      INTEGER NOT NULL DEFAULT 0,
    error       TEXT    NOT NULL DEFAULT '',
    duration_ms BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (delivery_id, n)
);
CREATE INDEX webhook_attempts_by_time ON webhook_attempts (at);
