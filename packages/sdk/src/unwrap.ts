import { IgoudarError } from "./errors.js";

/** What openapi-fetch resolves with: `data` on success, `error` (the parsed body) otherwise. */
interface Answer<D> {
	data?: D;
	error?: unknown;
	response: Response;
}

/**
 * The resource helpers' one rule: a success gives its body, anything else throws IgoudarError.
 * (The raw client does not throw on an HTTP error; it resolves with `error`.)
 */
export async function unwrap<D>(pending: Promise<Answer<D>>): Promise<D> {
	let answer: Answer<D>;
	try {
		answer = await pending;
	} catch (error) {
		if (error instanceof IgoudarError) throw error;
		// Aborts stay aborts: the caller asked for them and may test for AbortError.
		if (error instanceof Error && (error.name === "AbortError" || error.name === "TimeoutError")) throw error;
		throw IgoudarError.network(error);
	}
	if (!answer.response.ok) throw IgoudarError.fromResponse(answer.response, answer.error);
	return answer.data as D;
}
