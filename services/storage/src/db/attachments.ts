import type { Db, InstanceStatus } from "@igoudar/db";
import { instances } from "@igoudar/db";
import { and, eq, isNull } from "drizzle-orm";

/**
 * The instance a volume is to be attached to, held FOR SHARE until commit: the first lock an
 * attach takes (before the volume row), so a delete or action changing the instance waits for
 * the attach to commit and then sees the volume it has, or the attach sees the instance's new
 * status. Only the tenant's live instances are found.
 */
export async function lockInstanceForAttach(
	tx: Db,
	tenantId: string,
	instanceId: string,
): Promise<{ id: string; zoneId: string | null; status: InstanceStatus } | undefined> {
	const [row] = await tx
		.select({ id: instances.id, zoneId: instances.zoneId, status: instances.status })
		.from(instances)
		.where(and(eq(instances.id, instanceId), eq(instances.tenantId, tenantId), isNull(instances.deletedAt)))
		.for("share");
	return row;
}
