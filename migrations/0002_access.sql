CREATE TABLE "grants" (
	"org" text NOT NULL,
	"type_code" text NOT NULL,
	"matter_codes" text[],
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "grants_org_type_code_pk" PRIMARY KEY("org","type_code")
);
--> statement-breakpoint
CREATE TABLE "reader_orgs" (
	"org" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "certificate_ids" text[];--> statement-breakpoint
CREATE INDEX "audit_events_certificate_ids_idx" ON "audit_events" USING gin ("certificate_ids");