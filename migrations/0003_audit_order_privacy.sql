DROP INDEX "certificate_status_history_cert_idx";--> statement-breakpoint
ALTER TABLE "audit_events" ALTER COLUMN "at" SET DEFAULT clock_timestamp();--> statement-breakpoint
ALTER TABLE "certificate_status_history" ALTER COLUMN "at" SET DEFAULT clock_timestamp();--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "client_request_id" text;--> statement-breakpoint
ALTER TABLE "certificate_status_history" ADD COLUMN "client_request_id" text;--> statement-breakpoint
CREATE INDEX "certificate_status_history_cert_idx" ON "certificate_status_history" USING btree ("certificate_id","id");--> statement-breakpoint
-- Rows written before this migration: mask every ID-number-shaped run in stored free text and in
-- actor subjects, as src/ids maskIdNumbersIn does (110105********002X). A holder's subject written
-- from now on is a keyed hash; the key is not in the database, so older ones can only be masked.
UPDATE "certificate_status_history" SET "reason" = regexp_replace("reason", '(?<![0-9A-Za-z])([0-9]{6})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9A-Za-z])', '\1********\2', 'g') WHERE "reason" ~ '[0-9]{17}[0-9Xx]';--> statement-breakpoint
UPDATE "certificate_status_history" SET "actor_sub" = regexp_replace("actor_sub", '(?<![0-9A-Za-z])([0-9]{6})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9A-Za-z])', '\1********\2', 'g') WHERE "actor_sub" ~ '[0-9]{17}[0-9Xx]';--> statement-breakpoint
UPDATE "issuer_keys" SET "revocation_comment" = regexp_replace("revocation_comment", '(?<![0-9A-Za-z])([0-9]{6})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9A-Za-z])', '\1********\2', 'g') WHERE "revocation_comment" ~ '[0-9]{17}[0-9Xx]';--> statement-breakpoint
UPDATE "audit_events" SET "actor_sub" = regexp_replace("actor_sub", '(?<![0-9A-Za-z])([0-9]{6})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9A-Za-z])', '\1********\2', 'g') WHERE "actor_sub" ~ '[0-9]{17}[0-9Xx]';--> statement-breakpoint
UPDATE "audit_events" SET "details" = jsonb_set("details", '{purpose,reason}', to_jsonb(regexp_replace("details"->'purpose'->>'reason', '(?<![0-9A-Za-z])([0-9]{6})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9A-Za-z])', '\1********\2', 'g'))) WHERE jsonb_typeof("details"->'purpose') = 'object' AND "details"->'purpose'->>'reason' ~ '[0-9]{17}[0-9Xx]';
