-- The incident record, the inbox and the outbox. Kept in lockstep with
-- migrations/postgres/0001_initial.sql.

CREATE TABLE incidents (
    id          INTEGER PRIMARY KEY,
    title       TEXT NOT NULL,
    severity    TEXT NOT NULL,
    status      TEXT NOT NULL,
    private     BOOLEAN NOT NULL,
    platform    TEXT NOT NULL,
    declared_at TEXT NOT NULL,
    version     INTEGER NOT NULL,
    state       TEXT NOT NULL
);

CREATE TABLE incident_channels (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    platform    TEXT NOT NULL,
    channel_id  TEXT NOT NULL,
    name        TEXT NOT NULL,
    PRIMARY KEY (incident_id, platform),
    UNIQUE (platform, channel_id)
);

CREATE TABLE timeline_entries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    platform    TEXT,
    channel_id  TEXT,
    message_id  TEXT,
    kind        TEXT NOT NULL,
    at          TEXT NOT NULL,
    state       TEXT NOT NULL,
    version     INTEGER NOT NULL,
    body        TEXT NOT NULL,
    UNIQUE (platform, channel_id, message_id)
);
CREATE INDEX timeline_by_incident ON timeline_entries (incident_id, at, id);

CREATE TABLE subscriptions (
    platform   TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    scope      TEXT NOT NULL,
    body       TEXT NOT NULL,
    PRIMARY KEY (platform, channel_id, scope)
);

CREATE TABLE inbox (
    event_id    TEXT PRIMARY KEY,
    received_at TEXT NOT NULL
);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    lane            TEXT NOT NULL,
    incident_id     INTEGER NOT NULL,
    platform        TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    leased_by       TEXT,
    lease_until     TEXT,
    done_at         TEXT,
    outcome         TEXT,
    last_error      TEXT
);
CREATE INDEX outbox_pending ON outbox (lane, id) WHERE done_at IS NULL;
