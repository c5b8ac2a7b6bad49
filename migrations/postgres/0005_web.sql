-- The web command center: one-time sign-in links, sessions, and the
-- incident rooms' messages. Kept in lockstep with
-- migrations/sqlite/0005_web.sql.
--
-- Links and sessions are looked up by the SHA-256 of their secret, so a
-- copy of the database signs nobody in.
CREATE TABLE web_links (
    token_hash TEXT PRIMARY KEY,
    person     TEXT NOT NULL,
    next_path  TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);

CREATE TABLE web_sessions (
    id_hash    TEXT PRIMARY KEY,
    person     TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_at);

-- What people said in an incident's room on the web, in order.
CREATE TABLE room_messages (
    id          BIGSERIAL PRIMARY KEY,
    incident_id BIGINT NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX room_messages_by_incident ON room_messages (incident_id, id);
