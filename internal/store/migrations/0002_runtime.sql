-- Channel runtime: the linked WhatsApp device and account, the channel's
-- proxy and gate settings; the operator's proxy pool.

ALTER TABLE channels ADD COLUMN wa_device TEXT NOT NULL DEFAULT '';
ALTER TABLE channels ADD COLUMN wa_phone TEXT NOT NULL DEFAULT '';
ALTER TABLE channels ADD COLUMN wa_name TEXT NOT NULL DEFAULT '';
ALTER TABLE channels ADD COLUMN linked_at BIGINT;
ALTER TABLE channels ADD COLUMN proxy TEXT NOT NULL DEFAULT '';
ALTER TABLE channels ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';

CREATE TABLE proxies (
    url              TEXT PRIMARY KEY,
    healthy          BOOLEAN NOT NULL DEFAULT TRUE,
    last_error       TEXT NOT NULL DEFAULT '',
    last_assigned_at BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL
);
