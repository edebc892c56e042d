/**
 * Integer sharing. Every share of energy and carbon is an integer, and the shares of a whole must
 * add up to the whole exactly, so a whole is split by the largest-remainder method: everyone gets
 * the floor of their exact share, and the units left over go one each to the largest remainders.
 * Ties go to the smallest key, so the same input always gives the same split.
 */

export interface Claim {
	/** Stable and unique among the claims of one split (the tie-break). */
	key: string;
	/** Non-negative. */
	weight: bigint;
}

/**
 * Splits `total` (>= 0) among the claims in proportion to their weights; the shares are
 * non-negative integers, in the claims' order, and sum to `total`. The weights must not all be
 * zero unless the total is zero (there is nobody to give it to).
 */
export function apportion(total: bigint, claims: readonly Claim[]): bigint[] {
	if (total < 0n) throw new RangeError("a negative total cannot be shared");
	const sumOfWeights = claims.reduce((sum, claim) => {
		if (claim.weight < 0n) throw new RangeError(`negative weight for ${claim.key}`);
		return sum + claim.weight;
	}, 0n);
	if (sumOfWeights === 0n) {
		if (total === 0n) return claims.map(() => 0n);
		throw new RangeError("a positive total needs at least one positive weight");
	}
	const shares = claims.map((claim) => (total * claim.weight) / sumOfWeights);
	let left = total - shares.reduce((sum, share) => sum + share, 0n);
	if (left === 0n) return shares;
	const order = claims
		.map((claim, index) => ({ index, key: claim.key, remainder: (total * claim.weight) % sumOfWeights }))
		.sort((a, b) => {
			if (a.remainder !== b.remainder) return a.remainder > b.remainder ? -1 : 1;
			return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
		});
	// `left` is below the number of claims with a remainder, so one pass is enough.
	for (const { index } of order) {
		if (left === 0n) break;
		shares[index] = (shares[index] as bigint) + 1n;
		left -= 1n;
	}
	return shares;
}

/** `numerator / denominator` (both >= 0, denominator > 0) rounded to the nearest, halves up. */
export function roundedQuotient(numerator: bigint, denominator: bigint): bigint {
	return (2n * numerator + denominator) / (2n * denominator);
}

/** Coefficients and readings with up to six decimals, as integer millionths. */
export const MICRO = 1_000_000n;
export function toMicros(value: number): bigint {
	return BigInt(Math.round(value * 1_000_000));
}

export const sum = (values: readonly bigint[]): bigint => values.reduce((total, value) => total + value, 0n);
