import { tenants } from "@igoudar/db";
import { type Ctx, claimIdempotencyKey } from "@igoudar/kit";
import { useTestPlatform } from "@igoudar/server/testing";
import { eq } from "drizzle-orm";
import type { FastifyBaseLogger } from "fastify";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { tenantCreate } from "../src/app/tenants";
import { testOperatorAccount } from "./support";

const t = useTestPlatform();

describe("an Idempotency-Key whose request died right after its commit", () => {
	it("replays the committed answer instead of running the request again", async () => {
		const account = await testOperatorAccount(t);
		const body = { name: "crash-after-commit", data_residency: ["MA"] };
		const key = "create-then-crash";

		// What the HTTP layer does before the handler: claim the key ...
		const claim = await claimIdempotencyKey(t.db, account.id, key, "POST", "/v1/tenants", body);
		expect(claim.kind).toBe("proceed");
		if (claim.kind !== "proceed") return;
		// ... then the use case commits, and the process dies before any response is sent or stored.
		const ctx: Ctx = {
			actor: {
				id: account.id,
				clientId: account.clientId,
				role: "operator",
				tenantId: null,
				tenantStatus: null,
				tokenId: "crashed",
			},
			log: pino({ level: "silent" }) as unknown as FastifyBaseLogger,
			requestId: "crashed-request",
			sourceAddress: "127.0.0.1",
			db: t.db,
			idempotency: claim.claim,
		};
		const first = await tenantCreate(ctx, body);

		// The client retries with the same key: the answer committed with the tenant replays.
		const retry = await t.request<{ id: string }>("POST", "/v1/tenants", {
			token: await t.operatorToken(),
			headers: { "idempotency-key": key },
			body,
		});
		expect(retry.status).toBe(201);
		expect(retry.headers["idempotent-replayed"]).toBe("true");
		expect(retry.body.id).toBe(first.id);
		expect(await t.db.select().from(tenants).where(eq(tenants.name, body.name))).toHaveLength(1);
	});
});
