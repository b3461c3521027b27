-- What real WhatsApp needs kept: the subtype of a message (a "ciphertext"
-- placeholder for one that could not be decrypted yet), the encoded form of
-- what each channel sent (to answer a recipient's retry request after the
-- engine's in-memory copies are gone; pruned after a few days), counters of
-- what WhatsApp did to a channel (undecryptable messages, refusals), and a
-- small key-value table for process-wide facts (the WhatsApp Web version).

ALTER TABLE messages ADD COLUMN subtype TEXT NOT NULL DEFAULT '';

CREATE TABLE sent_payloads (
    channel_id TEXT   NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    message_id TEXT   NOT NULL,
    payload    {{BLOB}} NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, message_id)
);
CREATE INDEX sent_payloads_by_age ON sent_payloads (created_at);

CREATE TABLE channel_counters (
    channel_id TEXT    NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    count      BIGINT  NOT NULL DEFAULT 0,
    last_at    BIGINT  NOT NULL DEFAULT 0,
    last_info  TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (channel_id, name)
);

CREATE TABLE kv (
    key        TEXT   PRIMARY KEY,
    value      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);
