import { divideRoundHalfEven, formatDecimal, pow10, rescale } from "./decimal";

/** Money is stored in micro-units of the currency: six decimal places, enough for any rate. */
export const MONEY_SCALE = 6;

/**
 * ISO 4217 minor-unit exponents of the currencies plans may use: the digits after the decimal
 * point of an amount, and where each invoice line is rounded. A currency not listed is refused
 * rather than guessed (a wrong exponent would misprice every line by a factor of ten or more).
 */
export const CURRENCY_EXPONENTS: Readonly<Record<string, number>> = {
	MAD: 2,
	EUR: 2,
	USD: 2,
	GBP: 2,
	CHF: 2,
	CAD: 2,
	AUD: 2,
	CNY: 2,
	INR: 2,
	DZD: 2,
	EGP: 2,
	NGN: 2,
	ZAR: 2,
	SEK: 2,
	NOK: 2,
	DKK: 2,
	JPY: 0,
	KRW: 0,
	XOF: 0,
	XAF: 0,
	CLP: 0,
	ISK: 0,
	TND: 3,
	KWD: 3,
	BHD: 3,
	JOD: 3,
	OMR: 3,
	LYD: 3,
	IQD: 3,
};

export function isKnownCurrency(code: string): boolean {
	return Object.hasOwn(CURRENCY_EXPONENTS, code);
}

export function minorUnitExponent(currency: string): number {
	const exponent = CURRENCY_EXPONENTS[currency];
	if (exponent === undefined) throw new RangeError(`unknown currency ${currency}`);
	return exponent;
}

/** Micro-units rounded half to even to the currency's minor unit (still in micro-units). */
export function roundToMinorUnit(micros: bigint, currency: string): bigint {
	const step = pow10(MONEY_SCALE - minorUnitExponent(currency));
	return divideRoundHalfEven(micros, step) * step;
}

/**
 * A line's amount: the quantity (nano-units) times the unit price (micro-units per unit), exact,
 * then rounded once, half to even, to the currency's minor unit. Returned in micro-units.
 */
export function lineAmountMicros(quantityNanos: bigint, unitPriceMicros: bigint, currency: string): bigint {
	const step = pow10(MONEY_SCALE - minorUnitExponent(currency));
	return divideRoundHalfEven(quantityNanos * unitPriceMicros, pow10(9) * step) * step;
}

/** Tax on a subtotal at a rate in millionths, rounded half to even to the minor unit. */
export function taxMicros(subtotalMicros: bigint, taxRatePpm: bigint, currency: string): bigint {
	const step = pow10(MONEY_SCALE - minorUnitExponent(currency));
	return divideRoundHalfEven(subtotalMicros * taxRatePpm, 1_000_000n * step) * step;
}

/** An amount on the wire: a decimal string with exactly the currency's minor digits ("12.30", "1230" in JPY). */
export function formatMoney(micros: bigint, currency: string): string {
	const exponent = minorUnitExponent(currency);
	return formatDecimal(rescale(micros, MONEY_SCALE, exponent), exponent);
}
