/**
 * Exact decimal arithmetic on bigint: a decimal is an integer count of 10^-scale units. Money and
 * quantities never pass through a JavaScript number (a double cannot hold 0.1, and sums of such
 * values drift by a cent often enough to matter on an invoice); a test keeps number conversions
 * out of these modules.
 */

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/;

export const pow10 = (exponent: number): bigint => 10n ** BigInt(exponent);

/**
 * `numerator / denominator` rounded half to even (banker's rounding): ties go to the even
 * neighbour, so rounding many lines has no upward bias. The denominator must be positive.
 */
export function divideRoundHalfEven(numerator: bigint, denominator: bigint): bigint {
	if (denominator <= 0n) throw new RangeError("the denominator must be positive");
	const negative = numerator < 0n;
	const magnitude = negative ? -numerator : numerator;
	let quotient = magnitude / denominator;
	const twiceRemainder = (magnitude % denominator) * 2n;
	if (twiceRemainder > denominator || (twiceRemainder === denominator && quotient % 2n === 1n)) quotient += 1n;
	return negative ? -quotient : quotient;
}

/** Parses a plain decimal string ("0.0125") into units of 10^-scale; null if it has more digits. */
export function parseDecimal(text: string, scale: number): bigint | null {
	const match = DECIMAL.exec(text);
	if (!match) return null;
	const [, sign, whole = "0", fraction = ""] = match;
	if (fraction.length > scale) {
		// Trailing zeros beyond the scale change nothing: "1.500000000" is fine at scale 6.
		if (!/^0*$/.test(fraction.slice(scale))) return null;
	}
	const digits = `${whole}${fraction.slice(0, scale).padEnd(scale, "0")}`;
	const value = BigInt(digits);
	return sign ? -value : value;
}

/** Units of 10^-scale as a decimal string with exactly `scale` fraction digits ("12.50" at 2). */
export function formatDecimal(value: bigint, scale: number): string {
	const negative = value < 0n;
	const digits = (negative ? -value : value).toString().padStart(scale + 1, "0");
	const whole = digits.slice(0, digits.length - scale);
	const fraction = digits.slice(digits.length - scale);
	return `${negative ? "-" : ""}${whole}${scale > 0 ? `.${fraction}` : ""}`;
}

/** Moves a value from one scale to another, rounding half to even when digits are dropped. */
export function rescale(value: bigint, fromScale: number, toScale: number): bigint {
	if (toScale >= fromScale) return value * pow10(toScale - fromScale);
	return divideRoundHalfEven(value, pow10(fromScale - toScale));
}
