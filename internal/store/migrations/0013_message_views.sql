-- Who received, read or played each message the channel sent, one row per
-- recipient (a group member, a story's viewer): GET /statuses/{MessageID}.
-- A row only moves up (delivered -> read -> played).

CREATE TABLE message_views (
    channel_id TEXT    NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    message_id TEXT    NOT NULL,
    viewer     TEXT    NOT NULL,
    chat_id    TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    status_rank INTEGER NOT NULL,
    ts         BIGINT  NOT NULL,
    PRIMARY KEY (channel_id, message_id, viewer)
);
