-- Devices (browsers) a dashboard account logged in from: their cookie's
-- hash and the account. A login from a known device is counted apart from
-- the failures of other clients, so nobody else can lock it out.
CREATE TABLE IF NOT EXISTS dashboard_devices (
    token_hash TEXT   PRIMARY KEY,
    account    TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS dashboard_devices_by_expiry ON dashboard_devices (expires_at);
