-- The incident record, the inbox and the outbox. Kept in lockstep with
-- migrations/sqlite/0001_initial.sql.

CREATE TABLE incidents (
    id          BIGINT PRIMARY KEY,
    title       TEXT NOT NULL,
    severity    TEXT NOT NULL,
    status      TEXT NOT NULL,
    private     BOOLEAN NOT NULL,
    platform    TEXT NOT NULL,
    declared_at TIMESTAMPTZ NOT NULL,
    version     BIGINT NOT NULL,
    state       TEXT NOT NULL
);

CREATE TABLE incident_channels (
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    platform    TEXT NOT NULL,
    channel_id  TEXT NOT NULL,
    name        TEXT NOT NULL,
    PRIMARY KEY (incident_id, platform),
    UNIQUE (platform, channel_id)
);

CREATE TABLE timeline_entries (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    platform    TEXT,
    channel_id  TEXT,
    message_id  TEXT,
    kind        TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    state       TEXT NOT NULL,
    version     BIGINT NOT NULL,
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
    received_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lane            TEXT NOT NULL,
    incident_id     BIGINT NOT NULL,
    platform        TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    leased_by       TEXT,
    lease_until     TIMESTAMPTZ,
    done_at         TIMESTAMPTZ,
    outcome         TEXT,
    last_error      TEXT
);
CREATE INDEX outbox_pending ON outbox (lane, id) WHERE done_at IS NULL;
