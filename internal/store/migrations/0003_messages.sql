-- The channel's working data: messages, chats, media files and the usage
-- counters of trial limits. Everything belongs to a channel and goes with it.

CREATE TABLE messages (
    channel_id  TEXT    NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    id          TEXT    NOT NULL,
    chat_id     TEXT    NOT NULL,
    sender      TEXT    NOT NULL DEFAULT '',
    from_me     BOOLEAN NOT NULL,
    from_name   TEXT    NOT NULL DEFAULT '',
    type        TEXT    NOT NULL,
    source      TEXT    NOT NULL DEFAULT '',
    status      TEXT    NOT NULL,
    status_rank INTEGER NOT NULL,
    body        TEXT    NOT NULL DEFAULT '',
    content     TEXT    NOT NULL DEFAULT '{}',
    context     TEXT    NOT NULL DEFAULT '{}',
    reactions   TEXT    NOT NULL DEFAULT '[]',
    starred     BOOLEAN NOT NULL DEFAULT FALSE,
    edited      BOOLEAN NOT NULL DEFAULT FALSE,
    ts          BIGINT  NOT NULL,
    -- seq orders messages of the same millisecond as they were stored.
    seq         BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (channel_id, id)
);
CREATE INDEX messages_by_chat ON messages (channel_id, chat_id, ts, seq);
CREATE INDEX messages_by_time ON messages (channel_id, ts, seq);
CREATE INDEX messages_by_seq ON messages (channel_id, seq);

CREATE TABLE chats (
    channel_id      TEXT    NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    id              TEXT    NOT NULL,
    type            TEXT    NOT NULL,
    name            TEXT    NOT NULL DEFAULT '',
    last_message_id TEXT    NOT NULL DEFAULT '',
    last_ts         BIGINT  NOT NULL DEFAULT 0,
    unread          INTEGER NOT NULL DEFAULT 0,
    archived        BOOLEAN NOT NULL DEFAULT FALSE,
    pinned          BOOLEAN NOT NULL DEFAULT FALSE,
    mute_until      BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (channel_id, id)
);
CREATE INDEX chats_by_time ON chats (channel_id, last_ts);

CREATE TABLE media (
    channel_id TEXT   NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    id         TEXT   NOT NULL,
    mime_type  TEXT   NOT NULL,
    file_name  TEXT   NOT NULL DEFAULT '',
    size       BIGINT NOT NULL,
    sha256     TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, id)
);
CREATE INDEX media_by_expiry ON media (expires_at);

-- Trial and Sandbox limits: a counter per kind and period ("2026-11-23",
-- "2026-11"), and the chats started in a month.
CREATE TABLE usage_counters (
    channel_id TEXT    NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    period     TEXT    NOT NULL,
    count      INTEGER NOT NULL,
    PRIMARY KEY (channel_id, kind, period)
);
CREATE TABLE usage_chats (
    channel_id TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    period     TEXT NOT NULL,
    chat_id    TEXT NOT NULL,
    PRIMARY KEY (channel_id, period, chat_id)
);
