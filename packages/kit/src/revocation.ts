import type { FastifyBaseLogger } from "fastify";
import type { Redis } from "ioredis";

/**
 * What an authenticator must forget: one account (revoked, deleted, role changed) or everything it
 * holds about one tenant's accounts (suspended, resumed, deleted).
 */
export type RevocationNotice = { accountId: string } | { tenantId: string };

export interface Revocations {
	/**
	 * Tells every replica, this one first, to forget what it holds about the account or tenant.
	 * Call it after the change committed. Never throws: a notice that cannot be sent is covered by
	 * the authenticators' short cache lifetime.
	 */
	publish(notice: RevocationNotice): Promise<void>;
	/** Hears every notice, from this process or any other. */
	subscribe(listener: (notice: RevocationNotice) => void): void;
	close(): Promise<void>;
}

/** The notices of one process only: for a single process, and for tests without Redis. */
export function localRevocations(): Revocations {
	const listeners: ((notice: RevocationNotice) => void)[] = [];
	return {
		async publish(notice) {
			for (const listener of listeners) listener(notice);
		},
		subscribe(listener) {
			listeners.push(listener);
		},
		async close() {},
	};
}

function parseNotice(message: string): RevocationNotice | undefined {
	try {
		const value = JSON.parse(message) as Record<string, unknown>;
		if (typeof value.accountId === "string") return { accountId: value.accountId };
		if (typeof value.tenantId === "string") return { tenantId: value.tenantId };
	} catch {
		// not ours: ignored
	}
	return undefined;
}

/**
 * Revocation notices over Redis pub/sub on `<prefix>:revocations`: every api replica subscribes
 * with a connection of its own, and hears the notices of all of them. Pub/sub delivers at most
 * once and only to connected subscribers, so this is the fast path, not the guarantee: the
 * authenticator's cache lifetime bounds how long a lost notice can matter.
 */
export function redisRevocations(redis: Redis, prefix: string, logger: FastifyBaseLogger): Revocations {
	const channel = `${prefix}:revocations`;
	const local = localRevocations();
	// A subscribed connection can run no other command; it reconnects and resubscribes by itself.
	const subscriber = redis.duplicate({
		connectionName: "igoudar-revocations",
		enableOfflineQueue: true,
		maxRetriesPerRequest: null,
		commandTimeout: 10_000,
	});
	subscriber.on("error", (error: Error) => logger.debug({ err: error }, "revocation subscriber: redis error"));
	subscriber.on("message", (from: string, message: string) => {
		if (from !== channel) return;
		const notice = parseNotice(message);
		if (notice) void local.publish(notice);
	});
	subscriber.subscribe(channel).catch((error: unknown) => {
		logger.warn({ err: error }, "could not subscribe to revocation notices; cached principals expire on their own");
	});
	return {
		async publish(notice) {
			await local.publish(notice);
			try {
				await redis.publish(channel, JSON.stringify(notice));
			} catch (error) {
				logger.warn({ err: error, notice }, "could not publish a revocation notice; other replicas notice on expiry");
			}
		},
		subscribe: local.subscribe,
		async close() {
			subscriber.disconnect();
		},
	};
}
