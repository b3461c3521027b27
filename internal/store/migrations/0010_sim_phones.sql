-- The sim engine's phones (number, push name, about text), kept across
-- restarts; only the sim engine uses this table.
CREATE TABLE IF NOT EXISTS sim_phones (
    number     TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    about      TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL
);
