CREATE TABLE "certificate_documents" (
	"certificate_id" text PRIMARY KEY NOT NULL,
	"media_type" text NOT NULL,
	"sm3" text NOT NULL,
	"size" integer NOT NULL,
	"key_id" text NOT NULL,
	"cipher" "bytea" NOT NULL
);
--> statement-breakpoint
ALTER TABLE "certificates" ADD COLUMN "has_document" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "certificate_documents" ADD CONSTRAINT "certificate_documents_certificate_id_certificates_id_fk" FOREIGN KEY ("certificate_id") REFERENCES "public"."certificates"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "certificate_documents_sm3_idx" ON "certificate_documents" USING btree ("sm3");