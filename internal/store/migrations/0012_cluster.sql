-- Cluster mode: several nodes on one PostgreSQL database. Each node
-- registers itself and renews a heartbeat (its row expires when it stops
-- renewing); channels map to a fixed number of shards, each owned by one
-- node with an epoch that grows on every move; one node at a time (the
-- leader, holding a lease row) assigns shards. All times here are the
-- database's clock (epoch milliseconds), so nodes' clocks never disagree.
-- A single-node install (SQLite) keeps these tables empty.

CREATE TABLE cluster_nodes (
    id           TEXT    PRIMARY KEY,
    url          TEXT    NOT NULL,
    incarnation  TEXT    NOT NULL,
    version      TEXT    NOT NULL DEFAULT '',
    started_at   BIGINT  NOT NULL,
    heartbeat_at BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    leaving      BOOLEAN NOT NULL DEFAULT FALSE,
    channels     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE cluster_shards (
    id       INTEGER PRIMARY KEY,
    -- owner runs the shard's channels ('' before the first assignment).
    owner    TEXT   NOT NULL DEFAULT '',
    epoch    BIGINT NOT NULL DEFAULT 0,
    -- target, while a move is under way: the owner closes the shard's
    -- sessions, then hands the shard to target (epoch + 1).
    target   TEXT   NOT NULL DEFAULT '',
    moved_at BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE cluster_leader (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    node        TEXT   NOT NULL,
    incarnation TEXT   NOT NULL,
    term        BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

-- The last shard moves, for the operator (pruned to the most recent).
CREATE TABLE cluster_moves (
    id        {{AUTO_ID}},
    shard     INTEGER NOT NULL,
    from_node TEXT    NOT NULL,
    to_node   TEXT    NOT NULL,
    epoch     BIGINT  NOT NULL,
    reason    TEXT    NOT NULL,
    at        BIGINT  NOT NULL
);

-- A channel's connection state as its owner last wrote it, so that every
-- node can show it (lists, dashboards); the owner's writes are fenced by
-- its shard epoch.
CREATE TABLE channel_health (
    channel_id TEXT    PRIMARY KEY REFERENCES channels (id) ON DELETE CASCADE,
    node       TEXT    NOT NULL,
    epoch      BIGINT  NOT NULL,
    status     TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    error      TEXT    NOT NULL DEFAULT '',
    code       INTEGER NOT NULL DEFAULT 0,
    started_at BIGINT  NOT NULL DEFAULT 0,
    updated_at BIGINT  NOT NULL
);

-- Which node holds a webhook delivery's claim, so that a dead node's
-- claims go back to the queue when its heartbeat expires.
ALTER TABLE webhook_deliveries ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';

-- The sim engine's network (phones' inboxes, devices' queues, messages,
-- groups), saved every few seconds by the node that hosts it, so that it
-- survives restarts and moves to another node with the leader. One row.
CREATE TABLE sim_state (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    data     {{BLOB}} NOT NULL,
    node     TEXT   NOT NULL DEFAULT '',
    saved_at BIGINT NOT NULL
);

-- Media files kept in the database (WAGATE_MEDIA_STORE=postgres, the
-- default on PostgreSQL), so that every node of a cluster reads what any
-- node stored: chunks of at most 1 MiB, read one at a time.
CREATE TABLE media_blobs (
    key          TEXT   PRIMARY KEY,
    size         BIGINT NOT NULL,
    content_type TEXT   NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL
);

CREATE TABLE media_chunks (
    key  TEXT    NOT NULL REFERENCES media_blobs (key) ON DELETE CASCADE,
    seq  INTEGER NOT NULL,
    data {{BLOB}} NOT NULL,
    PRIMARY KEY (key, seq)
);
