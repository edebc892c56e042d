import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { formatMoney, lineAmountMicros, roundToMinorUnit, taxMicros } from "../src/domain/currencies";
import { divideRoundHalfEven, formatDecimal, parseDecimal } from "../src/domain/decimal";

const units = (decimal: string, scale: number) => {
	const value = parseDecimal(decimal, scale);
	if (value === null) throw new Error(`not a decimal: ${decimal}`);
	return value;
};
const nanos = (decimal: string) => units(decimal, 9);
const micros = (decimal: string) => units(decimal, 6);

/** What code that kept money in doubles would answer: the trap these tests prove billing avoids. */
const floatCents = (value: number) => (Math.round(value * 100) / 100).toFixed(2);

describe("exact money", () => {
	it("rounds half to even, both signs", () => {
		expect([5n, 15n, 25n, 35n, -5n, -15n, 14n, 16n].map((n) => divideRoundHalfEven(n, 10n))).toEqual([
			0n,
			2n,
			2n,
			4n,
			0n,
			-2n,
			1n,
			2n,
		]);
	});

	it("parses and formats decimal strings without losing a digit", () => {
		expect(parseDecimal("0.0125", 6)).toBe(12_500n);
		expect(parseDecimal("12", 6)).toBe(12_000_000n);
		expect(parseDecimal("1.500000000", 6)).toBe(1_500_000n);
		expect(parseDecimal("0.0000001", 6)).toBeNull();
		expect(parseDecimal("1e3", 6)).toBeNull();
		expect(formatDecimal(-1_234n, 3)).toBe("-1.234");
		expect(formatDecimal(5n, 4)).toBe("0.0005");
		expect(formatDecimal(90_071_992_547_409_930_001n, 2)).toBe("900719925474099300.01");
	});

	it("rounds each amount to the currency's minor unit (MAD 2, JPY 0, TND 3)", () => {
		expect(formatMoney(roundToMinorUnit(micros("1.5"), "JPY"), "JPY")).toBe("2");
		expect(formatMoney(roundToMinorUnit(micros("2.5"), "JPY"), "JPY")).toBe("2");
		expect(formatMoney(roundToMinorUnit(micros("0.0125"), "TND"), "TND")).toBe("0.012");
		expect(formatMoney(roundToMinorUnit(micros("0.0135"), "TND"), "TND")).toBe("0.014");
		expect(formatMoney(micros("7"), "MAD")).toBe("7.00");
	});

	it("gets the cent right where float arithmetic is off by one", () => {
		// 1.015 vCPU-hours at 1.00: exactly 1.015, half to even 1.02; a double holds 1.01499999...
		expect(formatMoney(lineAmountMicros(nanos("1.015"), micros("1.00"), "MAD"), "MAD")).toBe("1.02");
		expect(floatCents(1.015 * 1.0)).toBe("1.01");
		// 10 hours at 0.0145: exactly 0.145, half to even 0.14; a double makes it 0.14500000000000002.
		expect(formatMoney(lineAmountMicros(nanos("10"), micros("0.0145"), "MAD"), "MAD")).toBe("0.14");
		expect(floatCents(10 * 0.0145)).toBe("0.15");
		// 50 % tax on 1.15: exactly 0.575, half to even 0.58; in doubles 0.57.
		expect(formatMoney(taxMicros(micros("1.15"), 500_000n, "MAD"), "MAD")).toBe("0.58");
		expect(floatCents(1.15 * 0.5)).toBe("0.57");
		// A subtotal of many small lines: 0.1 three times is 0.3 exactly, not 0.30000000000000004.
		const lines = [micros("0.1"), micros("0.1"), micros("0.1")];
		expect(
			formatMoney(
				lines.reduce((sum, line) => sum + line, 0n),
				"MAD",
			),
		).toBe("0.30");
		expect(0.1 + 0.1 + 0.1).not.toBe(0.3);
	});
});

/**
 * Money never passes through a JavaScript number in billing: no conversion to one in its sources.
 * Only the module of instants converts (a Date holds milliseconds as a number); it never sees money.
 */
const FLOAT_CONVERSIONS = /\bNumber\(|parseFloat\(|parseInt\(|\.toFixed\(|Math\.round\(/;
const TIME_ONLY = new Set(["domain/instants.ts"]);
const sourceRoot = fileURLToPath(new URL("../src", import.meta.url));

function sources(dir: string): string[] {
	return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
		entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : [],
	);
}

function floatConversions(text: string): string[] {
	return text
		.split("\n")
		.map((line, index) => ({ line: line.trim(), number: index + 1 }))
		.filter(({ line }) => !line.startsWith("*") && !line.startsWith("//") && FLOAT_CONVERSIONS.test(line))
		.map(({ line, number }) => `${number}: ${line}`);
}

describe("no floating point on the money path", () => {
	it("finds no Number(, parseFloat(, parseInt(, toFixed( or Math.round( in billing's sources", () => {
		const files = sources(sourceRoot);
		expect(files.length).toBeGreaterThanOrEqual(15);
		const found = files
			.filter((file) => !TIME_ONLY.has(relative(sourceRoot, file)))
			.flatMap((file) =>
				floatConversions(readFileSync(file, "utf8")).map((hit) => `${relative(sourceRoot, file)}:${hit}`),
			);
		expect(found).toEqual([]);
	});

	it("would catch each of them", () => {
		for (const line of [
			"const a = Number(x);",
			"parseFloat(s)",
			"Number.parseInt(s, 10)",
			"x.toFixed(2)",
			"Math.round(y)",
		]) {
			expect(floatConversions(line), line).toHaveLength(1);
		}
	});

	it("keeps the exemption to time: the instants module imports nothing, so it cannot touch money", () => {
		const text = readFileSync(join(sourceRoot, "domain/instants.ts"), "utf8");
		expect(text).not.toMatch(/^import /m);
	});
});
