/** The ceiling: bare Bun.serve answering /data with the same JSON, no auth, no framework. */
const body = JSON.stringify({ message: "Hello bench, here is your data!" });
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.argv[2] ?? 0),
  fetch: () => new Response(body, { headers: { "content-type": "application/json" } }),
});
console.log(`listening ${server.port}`);
