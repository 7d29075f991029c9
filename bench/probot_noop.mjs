// Probot with a no-op pull_request.opened handler: the reference point (c) of bench/ingest.py.
import { createServer } from "node:http";
import { Probot, createNodeMiddleware } from "probot";

const port = Number(process.argv[2]);
const probot = new Probot({ githubToken: "bench-token", secret: process.env.WEBHOOK_SECRET, logLevel: "error" });
const middleware = await createNodeMiddleware((app) => {
  app.on(["pull_request.opened", "issue_comment.created"], async () => {});
}, { probot, webhooksPath: "/webhooks/github" });
createServer((req, res) => middleware(req, res, () => { res.writeHead(404); res.end(); }))
  .listen(port, "127.0.0.1");
