-- The incident each alert group opened last. Kept in lockstep with
-- migrations/sqlite/0004_alerts.sql.
--
-- While that incident is open, the group's notifications go to it; once it
-- is resolved or closed, the next firing opens a new one. The primary key is
-- what lets only one of two racing notifications open it.
CREATE TABLE alert_groups (
    source      TEXT NOT NULL,
    group_key   TEXT NOT NULL,
    incident_id BIGINT NOT NULL,
    PRIMARY KEY (source, group_key)
);
