CREATE TABLE "certificate_status_history" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"certificate_id" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor_sub" text,
	"actor_org" text,
	"request_id" text,
	"from_status" text NOT NULL,
	"to_status" text NOT NULL,
	"reason" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "certificates" (
	"id" text PRIMARY KEY NOT NULL,
	"series" text NOT NULL,
	"version" integer NOT NULL,
	"type_code" text NOT NULL,
	"issuer_code" text NOT NULL,
	"number" text NOT NULL,
	"holder_id_type" text NOT NULL,
	"holder_index" text NOT NULL,
	"issued_on" date NOT NULL,
	"valid_from" date NOT NULL,
	"valid_until" date,
	"status" text NOT NULL,
	"status_changed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"signing_kid" text NOT NULL,
	"jws_sha256" text NOT NULL,
	"key_id" text NOT NULL,
	"jws_cipher" "bytea" NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "certificates_series_version_key" UNIQUE("series","version")
);
--> statement-breakpoint
CREATE TABLE "issuer_keys" (
	"kid" text PRIMARY KEY NOT NULL,
	"issuer_code" text NOT NULL,
	"algorithms" text[] NOT NULL,
	"public_key_pem" text NOT NULL,
	"chain_pem" text NOT NULL,
	"subject" text NOT NULL,
	"serial_number" text NOT NULL,
	"fingerprint256" text NOT NULL,
	"not_before" timestamp with time zone NOT NULL,
	"not_after" timestamp with time zone NOT NULL,
	"active_from" timestamp with time zone DEFAULT now() NOT NULL,
	"retired_at" timestamp with time zone,
	"compromised_at" timestamp with time zone,
	"revocation_comment" text
);
--> statement-breakpoint
CREATE TABLE "issuers" (
	"code" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"type_codes" text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "holder_ref" text;--> statement-breakpoint
ALTER TABLE "issuer_keys" ADD CONSTRAINT "issuer_keys_issuer_code_issuers_code_fk" FOREIGN KEY ("issuer_code") REFERENCES "public"."issuers"("code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "certificate_status_history_cert_idx" ON "certificate_status_history" USING btree ("certificate_id","at");--> statement-breakpoint
CREATE UNIQUE INDEX "certificates_series_current_key" ON "certificates" USING btree ("series") WHERE status in ('valid', 'suspended');--> statement-breakpoint
CREATE INDEX "certificates_holder_idx" ON "certificates" USING btree ("holder_index","type_code");--> statement-breakpoint
CREATE INDEX "certificates_type_number_idx" ON "certificates" USING btree ("type_code","number");--> statement-breakpoint
CREATE INDEX "issuer_keys_issuer_idx" ON "issuer_keys" USING btree ("issuer_code");--> statement-breakpoint
CREATE INDEX "audit_events_subject_idx" ON "audit_events" USING btree ("subject");--> statement-breakpoint
CREATE INDEX "audit_events_holder_ref_idx" ON "audit_events" USING btree ("holder_ref");--> statement-breakpoint
CREATE INDEX "audit_events_actor_org_at_idx" ON "audit_events" USING btree ("actor_org","at");