-- What a channel knows of WhatsApp beyond its messages: the groups its
-- account is in (with their participants), the contacts it learned (checked
-- numbers, group members, profiles) and the last presence seen of users and
-- chats. Everything belongs to a channel and goes with it.

-- wa_groups: "groups" is a keyword (window frames) in both databases.
CREATE TABLE wa_groups (
    channel_id  TEXT    NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    id          TEXT    NOT NULL, -- group JID, digits@g.us
    subject     TEXT    NOT NULL DEFAULT '',
    subject_at  BIGINT  NOT NULL DEFAULT 0,
    description TEXT    NOT NULL DEFAULT '',
    owner       TEXT    NOT NULL DEFAULT '', -- creator's JID, when known
    created_at  BIGINT  NOT NULL DEFAULT 0,
    announce    BOOLEAN NOT NULL DEFAULT FALSE, -- only admins send
    locked      BOOLEAN NOT NULL DEFAULT FALSE, -- only admins edit the info
    invite_code TEXT    NOT NULL DEFAULT '',
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (channel_id, id)
);
CREATE INDEX wa_groups_by_subject ON wa_groups (channel_id, subject);

CREATE TABLE wa_group_participants (
    channel_id TEXT NOT NULL,
    group_id   TEXT NOT NULL,
    user_id    TEXT NOT NULL, -- user JID
    rank       TEXT NOT NULL, -- creator, admin or member
    PRIMARY KEY (channel_id, group_id, user_id),
    FOREIGN KEY (channel_id, group_id) REFERENCES wa_groups (channel_id, id) ON DELETE CASCADE
);

-- contacts: users the channel learned of. status is what the last check
-- said ('' unknown, 'valid' on WhatsApp, 'invalid' not), checked_at when.
CREATE TABLE contacts (
    channel_id TEXT   NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    id         TEXT   NOT NULL, -- user JID
    name       TEXT   NOT NULL DEFAULT '',
    pushname   TEXT   NOT NULL DEFAULT '',
    status     TEXT   NOT NULL DEFAULT '',
    checked_at BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, id)
);

-- presences: the last presence seen per entry (a user, or a chat someone
-- types in); user_id is who it is about.
CREATE TABLE presences (
    channel_id TEXT   NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    entry_id   TEXT   NOT NULL, -- user or group JID
    user_id    TEXT   NOT NULL,
    status     TEXT   NOT NULL, -- online, offline, typing, recording, pending
    last_seen  BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, entry_id)
);
