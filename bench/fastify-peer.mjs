// The peer a Node user would pick: Fastify with @fastify/bearer-auth, answering the same /data.
import bearerAuth from "@fastify/bearer-auth";
import Fastify from "fastify";

const [port, token] = process.argv.slice(2);
const app = Fastify({ logger: false });
await app.register(bearerAuth, { keys: new Set([token]) });
app.get("/data", async () => ({ message: "Hello bench, here is your data!" }));
await app.listen({ host: "127.0.0.1", port: Number(port) });
console.log(`listening ${port}`);
