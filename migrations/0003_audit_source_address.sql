DROP INDEX "audit_events_tenant_idx";--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "source_address" text;--> statement-breakpoint
CREATE INDEX "audit_events_tenant_id_idx" ON "audit_events" USING btree ("tenant_id","id");--> statement-breakpoint
CREATE INDEX "audit_events_target_idx" ON "audit_events" USING btree ("target_id","id");