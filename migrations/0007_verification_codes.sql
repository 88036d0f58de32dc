CREATE TABLE "verification_codes" (
	"certificate_id" text PRIMARY KEY NOT NULL,
	"code_sha256" text NOT NULL,
	"key_id" text NOT NULL,
	"code_cipher" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	CONSTRAINT "verification_codes_code_sha256_key" UNIQUE("code_sha256")
);
--> statement-breakpoint
ALTER TABLE "verification_codes" ADD CONSTRAINT "verification_codes_certificate_id_certificates_id_fk" FOREIGN KEY ("certificate_id") REFERENCES "public"."certificates"("id") ON DELETE no action ON UPDATE no action;