/**
 * One JSON request to a server started as a child process: the status and the parsed body
 * (null when the answer has none). Shared by the end-to-end tests and the benchmarks.
 */
export async function jsonCall<T = Record<string, unknown>>(
	baseUrl: string,
	method: string,
	path: string,
	options: { token?: string; body?: unknown } = {},
): Promise<{ status: number; body: T }> {
	const response = await fetch(`${baseUrl}${path}`, {
		method,
		headers: {
			...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
			...(options.body === undefined ? {} : { "content-type": "application/json" }),
		},
		...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
	});
	const text = await response.text();
	return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}
