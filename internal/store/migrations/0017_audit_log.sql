-- The audit log: one row per change made by an operator, a partner, a
-- channel token or the system, written in the same transaction as the
-- change. Append-only: wagate never updates or deletes its rows.

CREATE TABLE audit_log (
    id          {{AUTO_ID}},
    at          BIGINT NOT NULL,
    actor_kind  TEXT   NOT NULL,
    actor_id    TEXT   NOT NULL DEFAULT '',
    ip          TEXT   NOT NULL DEFAULT '',
    partner_id  TEXT   NOT NULL DEFAULT '',
    channel_id  TEXT   NOT NULL DEFAULT '',
    action      TEXT   NOT NULL,
    target      TEXT   NOT NULL DEFAULT '',
    before_json TEXT   NOT NULL DEFAULT '',
    after_json  TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_by_at ON audit_log (at, id);
CREATE INDEX audit_log_by_partner ON audit_log (partner_id, at, id);
CREATE INDEX audit_log_by_channel ON audit_log (channel_id, at, id);
