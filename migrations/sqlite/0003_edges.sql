-- Resumable posts, retention of delivered rows, and an audit log without
-- message text. Kept in lockstep with migrations/postgres/0003_edges.sql.

-- How far a post split into several messages got: {"sent": n, "first": id}.
-- A retry resumes after the last part sent instead of repeating part 1.
ALTER TABLE outbox ADD COLUMN progress TEXT;

-- Delivered rows and inbox rows older than the retention age are pruned in
-- small batches, oldest first.
CREATE INDEX outbox_done ON outbox (done_at) WHERE done_at IS NOT NULL;
CREATE INDEX inbox_by_age ON inbox (received_at);

-- The audit log records who did what to which incident, never what a
-- message said: lines written before this carried entry text.
UPDATE audit_log SET detail = action WHERE actor NOT LIKE 'cli:%' AND actor <> 'tocsin';

-- How many deliveries ended each way, kept as counts so that neither
-- pruning nor a long history changes what /metrics costs or says.
CREATE TABLE outbox_totals (
    outcome TEXT PRIMARY KEY,
    n       BIGINT NOT NULL
);
INSERT INTO outbox_totals (outcome, n)
    SELECT outcome, COUNT(*) FROM outbox WHERE outcome IS NOT NULL GROUP BY outcome;

-- A deleted message's entry keeps who, when and that it was deleted; what
-- it said, its files and its link go with it.
UPDATE timeline_entries
SET body = json_remove(json_set(body, '$.text', '', '$.files', json('[]')), '$.link')
WHERE state = 'deleted';
