-- Staged deletion and the audit log. Kept in lockstep with
-- migrations/postgres/0002_retention.sql.

-- Set when an incident is marked for deletion: hidden from then on, purged
-- once this time has passed, restorable until then.
ALTER TABLE incidents ADD COLUMN delete_after TEXT;

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    incident_id INTEGER,
    detail      TEXT NOT NULL
);
CREATE INDEX audit_by_incident ON audit_log (incident_id, id);
