CREATE TABLE "log_checkpoints" (
	"size" bigint PRIMARY KEY NOT NULL,
	"root" "bytea" NOT NULL,
	"note" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "log_nodes" (
	"level" integer NOT NULL,
	"index" bigint NOT NULL,
	"hash" "bytea" NOT NULL,
	CONSTRAINT "log_nodes_level_index_pk" PRIMARY KEY("level","index")
);
--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "leaf_index" bigint;--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "salt" "bytea";--> statement-breakpoint
CREATE UNIQUE INDEX "audit_events_leaf_index_key" ON "audit_events" USING btree ("leaf_index");--> statement-breakpoint
CREATE INDEX "audit_events_pending_idx" ON "audit_events" USING btree ("id") WHERE leaf_index is null;