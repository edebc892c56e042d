import { describe, expect, it } from "vitest";
import { parseClientAuthHeader } from "./client-auth";

const basic = (raw: string) => `Basic ${Buffer.from(raw, "utf8").toString("base64")}`;

describe("parseClientAuthHeader (RFC 6749 2.3.1)", () => {
	it("form-decodes both halves, so a colon, a plus or non-ASCII survive the trip", () => {
		const id = "igc_a:b c";
		const secret = "s+é%/=";
		const encode = (value: string) => encodeURIComponent(value).replaceAll("%20", "+");
		expect(parseClientAuthHeader(basic(`${encode(id)}:${encode(secret)}`))).toEqual({
			kind: "basic",
			credentials: { clientId: id, clientSecret: secret },
		});
		// The scheme is case-insensitive (RFC 9110 11.1).
		expect(parseClientAuthHeader(`basic ${Buffer.from("a:b").toString("base64")}`)).toMatchObject({ kind: "basic" });
	});

	it("tells no header, another scheme and unreadable Basic apart", () => {
		expect(parseClientAuthHeader(undefined)).toEqual({ kind: "none" });
		expect(parseClientAuthHeader("Bearer abc")).toEqual({ kind: "other-scheme" });
		for (const header of [
			"Basic",
			"Basic !!!",
			basic("no-colon"),
			basic(":secret"),
			basic("id:"),
			basic("id:%E0%A4%A"),
			basic("id%00:secret"),
			basic(`${"i".repeat(256)}:secret`),
			basic(`id:${"s".repeat(513)}`),
		]) {
			expect(parseClientAuthHeader(header), header).toEqual({ kind: "malformed" });
		}
	});
});
