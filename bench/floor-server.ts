/**
 * The floor of the read path on this machine: a bare Fastify server (the same `fastify` the
 * platform uses) that runs the instance read and the instance list as named prepared statements
 * on raw pg, with no authentication, no tenant check and no response schema. Also a hello-world
 * route, the ceiling of Fastify itself. Run as a child process by the read benchmark; prints its
 * URL on its first line.
 */
import Fastify from "fastify";
import pg from "pg";

const url = process.env.DATABASE_URL;
if (!url) throw new Error("DATABASE_URL is required");
// The platform's own pool size, so both sides have as many connections to Postgres.
const pool = new pg.Pool({ connectionString: url, max: 10 });

/** The same row the platform's instance read returns: the instance with its names and volumes. */
const RECORD = `select i.*, f.name as flavor_name, z.name as zone_name, g.name as placement_group_name,
	coalesce((select array_agg(v.id order by v.id) from volumes v where v.instance_id = i.id and v.deleted_at is null), '{}') as volume_ids
	from instances i
	join flavors f on f.id = i.flavor_id
	join zones z on z.id = i.zone_id
	left join placement_groups g on g.id = i.placement_group_id`;

const app = Fastify({ logger: false });

app.get("/hello", async () => ({ hello: "world" }));

app.get<{ Params: { tenant: string; id: string } }>("/tenants/:tenant/instances/:id", async (request, reply) => {
	const { rows } = await pool.query({
		name: "floor_instance_get",
		text: `${RECORD} where i.id = $1 and i.tenant_id = $2 and i.deleted_at is null limit 1`,
		values: [request.params.id, request.params.tenant],
	});
	if (!rows[0]) return reply.code(404).send({ code: "not_found" });
	return rows[0];
});

app.get<{ Params: { tenant: string } }>("/tenants/:tenant/instances", async (request) => {
	const { rows } = await pool.query({
		name: "floor_instance_list",
		text: `${RECORD} where i.tenant_id = $1 and i.deleted_at is null order by i.id limit 51`,
		values: [request.params.tenant],
	});
	return { items: rows.slice(0, 50) };
});

const address = await app.listen({ host: "127.0.0.1", port: 0 });
console.log(address);
process.once("SIGTERM", () => {
	void app.close().then(() => pool.end());
});
