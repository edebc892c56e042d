/** One page of a list answer: every list route answers `{ items, next_page_token }`. */
export interface Page<T> {
	items: T[];
	next_page_token?: string | null;
}

/**
 * A list that fetches its pages lazily: `for await (const x of list)` walks every item, following
 * `next_page_token` only as far as the loop goes (breaking out stops the requests).
 */
export interface Paginator<T> extends AsyncIterable<T> {
	/** Page by page, for callers that want the boundaries (or to stop at one). */
	pages(): AsyncIterable<Page<T>>;
	/** Every item of every page, in one array. */
	toArray(): Promise<T[]>;
}

export function paginate<T>(fetchPage: (pageToken: string | undefined) => Promise<Page<T>>): Paginator<T> {
	async function* pages(): AsyncGenerator<Page<T>> {
		let token: string | undefined;
		do {
			const page = await fetchPage(token);
			yield page;
			token = page.next_page_token ?? undefined;
		} while (token);
	}
	async function* items(): AsyncGenerator<T> {
		for await (const page of pages()) yield* page.items;
	}
	return {
		[Symbol.asyncIterator]: () => items(),
		pages,
		async toArray() {
			const all: T[] = [];
			for await (const item of items()) all.push(item);
			return all;
		},
	};
}
