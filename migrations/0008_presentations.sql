CREATE TABLE "presentations" (
	"token_sha256" text PRIMARY KEY NOT NULL,
	"certificate_id" text NOT NULL,
	"holder_ref" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone,
	"used_by" text
);
--> statement-breakpoint
ALTER TABLE "presentations" ADD CONSTRAINT "presentations_certificate_id_certificates_id_fk" FOREIGN KEY ("certificate_id") REFERENCES "public"."certificates"("id") ON DELETE no action ON UPDATE no action;