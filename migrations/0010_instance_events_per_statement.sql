-- Instance events recorded once per statement instead of once per row: a statement that moves a
-- batch of instances (the creates a worker settles together, a batch of creates) inserts their
-- events in one INSERT ... SELECT from its transition tables, where a row trigger ran a PL/pgSQL
-- call and an INSERT for each instance. What is recorded is unchanged: a created instance's
-- status, then every change of status and the deletion, each with the host holding the instance.
-- A trigger with transition tables takes one event and no column list, hence two triggers, and
-- the update trigger compares old and new rows itself.
DROP TRIGGER IF EXISTS instances_record_event ON instances;
--> statement-breakpoint
DROP FUNCTION IF EXISTS igoudar_record_instance_event();
--> statement-breakpoint
CREATE FUNCTION igoudar_record_created_instances() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO instance_events (instance_id, tenant_id, status, host_id)
	SELECT id, tenant_id, status, host_id FROM created_instances;
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE FUNCTION igoudar_record_changed_instances() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO instance_events (instance_id, tenant_id, status, host_id)
	SELECT after.id, after.tenant_id,
		CASE WHEN after.deleted_at IS NOT NULL AND before.deleted_at IS NULL THEN 'deleted' ELSE after.status END,
		after.host_id
	FROM changed_after AS after JOIN changed_before AS before ON before.id = after.id
	WHERE (after.deleted_at IS NOT NULL AND before.deleted_at IS NULL) OR after.status IS DISTINCT FROM before.status;
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER instances_record_created
	AFTER INSERT ON instances REFERENCING NEW TABLE AS created_instances
	FOR EACH STATEMENT EXECUTE FUNCTION igoudar_record_created_instances();
--> statement-breakpoint
CREATE TRIGGER instances_record_changed
	AFTER UPDATE ON instances REFERENCING OLD TABLE AS changed_before NEW TABLE AS changed_after
	FOR EACH STATEMENT EXECUTE FUNCTION igoudar_record_changed_instances();
