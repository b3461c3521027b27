-- One identity per person: the LID and phone-number pairs each channel
-- learned (one LID per number and one number per LID), so that a chat that
-- started under one form and continues under the other stays one chat; and
-- the history sync chunks WhatsApp announced, kept until they are fetched
-- and imported one at a time.

CREATE TABLE contact_lids (
    channel_id TEXT   NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    lid        TEXT   NOT NULL,
    pn         TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, lid)
);
CREATE UNIQUE INDEX contact_lids_by_pn ON contact_lids (channel_id, pn);

CREATE TABLE history_queue (
    channel_id TEXT     NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    id         TEXT     NOT NULL,
    ref        {{BLOB}} NOT NULL,
    attempts   INTEGER  NOT NULL DEFAULT 0,
    next_at    BIGINT   NOT NULL DEFAULT 0,
    created_at BIGINT   NOT NULL,
    PRIMARY KEY (channel_id, id)
);
CREATE INDEX history_queue_by_due ON history_queue (next_at, created_at);
