import { Uuid } from "@igoudar/kit";
import { Type } from "typebox";

/**
 * The shapes storage's pool checker reports in the consistency audit's answers (which compute's
 * routes serve); storage's quota drift has the shape of every quota drift.
 */

const Cause = Type.String({ description: "Why the stored value and the recount differ, from the data." });

export const PoolDriftSchema = Type.Object(
	{
		kind: Type.Literal("pool"),
		pool_id: Uuid(),
		pool: Type.String({ description: "Storage pool name." }),
		stored: Type.Integer({ description: "The pool's allocated_gib counter." }),
		actual: Type.Integer({
			minimum: 0,
			description: "What the live volumes and snapshots placed on the pool hold, in GiB.",
		}),
		cause: Cause,
	},
	{
		$id: "PoolDrift",
		additionalProperties: false,
		description: "A storage pool's allocation differs from its volumes and snapshots.",
	},
);

export const PoolChangeSchema = Type.Object(
	{
		kind: Type.Literal("pool"),
		pool_id: Uuid(),
		pool: Type.String({ description: "Storage pool name." }),
		from: Type.Integer(),
		to: Type.Integer({ minimum: 0, description: "The recount." }),
		cause: Cause,
	},
	{ $id: "PoolChange", additionalProperties: false, description: "A storage pool's allocated_gib set to its recount." },
);
