-- The certificate filter of the audit search (subject = X or X among certificate_ids) gets ONE GIN
-- over the expression (certificate_ids || subject), which src/audit/events.ts repeats, in place of
-- a btree on subject beside a GIN on certificate_ids (issue 13 item 4; the queries, their plans
-- and the cost per event are in docs/benchmarks.md, "PostgreSQL's share of an access event"). The
-- old pair did not even serve the filter: on a quarter of a million events the planner read the
-- whole at index backwards instead (190-245 ms, growing with the table); the GIN answers in
-- 1.4-3.6 ms, and each event writes one index fewer.
--
-- On a database with millions of events: the runner applies a migration in one transaction
-- (src/db/migrate.ts), so the index cannot be built CONCURRENTLY. CREATE INDEX holds a SHARE lock
-- on audit_events until the commit: reads go on, but every write waits, and every access writes
-- its event before it answers, so accesses served by replicas still running wait (503
-- ACCESS_LOG_UNAVAILABLE past lock_timeout) for as long as the build takes: 0.8 s for 250,000
-- events on the 2-core bench machine (bench/auditIndexes.ts), 3-4 s per million, more once the
-- build outgrows maintenance_work_mem (64 MB by default; ALTER ROLE … SET maintenance_work_mem for
-- the role that migrates). The drops come last: DROP INDEX takes an ACCESS EXCLUSIVE lock, held
-- only from there to the commit. To upgrade without
-- the pause, build the index by hand first, under this name, and check it is not left INVALID:
--   CREATE INDEX CONCURRENTLY "audit_events_certificates_idx" ON "audit_events" USING gin (("certificate_ids" || "subject"));
-- this migration then finds it (IF NOT EXISTS) and only drops the two old ones.
CREATE INDEX IF NOT EXISTS "audit_events_certificates_idx" ON "audit_events" USING gin (("certificate_ids" || "subject"));--> statement-breakpoint
DROP INDEX IF EXISTS "audit_events_subject_idx";--> statement-breakpoint
DROP INDEX IF EXISTS "audit_events_certificate_ids_idx";
