-- Every change of an instance's status (and its deletion) leaves an event in the same
-- transaction, whatever code path made it: usage and billing are computed from these lifetimes.
CREATE OR REPLACE FUNCTION igoudar_record_instance_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO instance_events (instance_id, tenant_id, status) VALUES (NEW.id, NEW.tenant_id, NEW.status);
	ELSIF NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL THEN
		INSERT INTO instance_events (instance_id, tenant_id, status) VALUES (NEW.id, NEW.tenant_id, 'deleted');
	ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
		INSERT INTO instance_events (instance_id, tenant_id, status) VALUES (NEW.id, NEW.tenant_id, NEW.status);
	END IF;
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER instances_record_event
	AFTER INSERT OR UPDATE OF status, deleted_at ON instances
	FOR EACH ROW EXECUTE FUNCTION igoudar_record_instance_event();
