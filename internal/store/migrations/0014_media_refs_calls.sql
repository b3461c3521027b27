-- Received files fetched on demand (what the engine needs to download each
-- one later, under the media ID its message shows), and the calls each
-- channel saw (so that a call can be rejected by its ID and its events
-- tell whether it was answered).

CREATE TABLE media_refs (
    channel_id TEXT   NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    media_id   TEXT   NOT NULL,
    message_id TEXT   NOT NULL,
    chat_id    TEXT   NOT NULL,
    sender     TEXT   NOT NULL DEFAULT '',
    from_me    BOOLEAN NOT NULL DEFAULT FALSE,
    kind       TEXT   NOT NULL,
    mime_type  TEXT   NOT NULL DEFAULT '',
    file_name  TEXT   NOT NULL DEFAULT '',
    ref        TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, media_id)
);
CREATE INDEX media_refs_by_age ON media_refs (created_at);

CREATE TABLE calls (
    channel_id TEXT    NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    id         TEXT    NOT NULL,
    chat_id    TEXT    NOT NULL,
    caller     TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    video      BOOLEAN NOT NULL DEFAULT FALSE,
    is_group   BOOLEAN NOT NULL DEFAULT FALSE,
    answered   BOOLEAN NOT NULL DEFAULT FALSE,
    rejected   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (channel_id, id)
);
CREATE INDEX calls_by_age ON calls (created_at);
