import type { OperationStatus } from "@igoudar/db";
import { getOperation, listOperations, type OperationView, presentOperation } from "@igoudar/jobs";
import { type Ctx, type PageRequest, problems, toPage } from "@igoudar/kit";

export async function operationList(
	ctx: Ctx,
	tenantId: string,
	page: PageRequest,
	filter: { targetId?: string; status?: OperationStatus },
) {
	const rows = await listOperations(ctx.db, tenantId, { ...filter, limit: page.limit + 1, after: page.after });
	return toPage(rows, page, presentOperation);
}

export async function operationGet(ctx: Ctx, tenantId: string, id: string): Promise<OperationView> {
	const row = await getOperation(ctx.db, id, { tenantId });
	if (!row) throw problems.notFound("operation");
	return presentOperation(row);
}
