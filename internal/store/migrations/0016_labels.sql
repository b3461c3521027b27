-- The labels of each channel's account (WhatsApp Business) and the chats
-- that carry them, as learned from WhatsApp's app state or made through the
-- API. chat_labels is not tied to chats: a label may arrive before the chat.

CREATE TABLE labels (
    channel_id TEXT    NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    id         TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    color      INTEGER NOT NULL,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (channel_id, id)
);

CREATE TABLE chat_labels (
    channel_id TEXT   NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    label_id   TEXT   NOT NULL,
    chat_id    TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, label_id, chat_id)
);
CREATE INDEX chat_labels_by_chat ON chat_labels (channel_id, chat_id);
