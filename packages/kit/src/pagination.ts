import { isUuid } from "@igoudar/db";
import { problems } from "./errors";

/**
 * Opaque page tokens. Lists are ordered by time-ordered ids, so the token only needs the last id
 * seen; it is wrapped and versioned so clients cannot come to depend on its shape.
 */
export function encodePageToken(lastId: string): string {
	return Buffer.from(JSON.stringify({ v: 1, after: lastId })).toString("base64url");
}

export function decodePageToken(token: string | undefined): string | undefined {
	if (token === undefined) return undefined;
	try {
		const parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { v?: number; after?: unknown };
		if (parsed.v === 1 && typeof parsed.after === "string" && isUuid(parsed.after)) return parsed.after;
	} catch {
		// fall through to the one error below
	}
	throw problems.validation("page_token is not a token this API issued.", [
		{ field: "query/page_token", message: "invalid page token" },
	]);
}

export interface PageRequest {
	limit: number;
	after?: string;
}

export function pageRequest(query: { limit?: number; page_token?: string }): PageRequest {
	return { limit: query.limit ?? 50, after: decodePageToken(query.page_token) };
}

/**
 * Callers fetch `limit + 1` rows; the extra row only proves that another page exists.
 */
export function toPage<Row extends { id: string }, Item>(
	rows: Row[],
	page: PageRequest,
	present: (row: Row) => Item,
): { items: Item[]; next_page_token: string | null } {
	const visible = rows.slice(0, page.limit);
	const last = visible[visible.length - 1];
	return {
		items: visible.map(present),
		next_page_token: rows.length > page.limit && last ? encodePageToken(last.id) : null,
	};
}
