// Bundles the browser code into internal/web/dist, which the Go binary
// embeds: `node web/build.mjs` (or `go generate ./internal/web`).
// --out DIR writes elsewhere (the staleness test compares the two).
import { build } from "esbuild";
import { copyFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const i = process.argv.indexOf("--out");
const out = i > 0 ? process.argv[i + 1] : join(here, "..", "internal", "web", "dist");
await mkdir(out, { recursive: true });

const common = { bundle: true, minify: true, target: ["es2020"], legalComments: "none", charset: "utf8", logLevel: "warning" };
await build({ ...common, entryPoints: [join(here, "widget", "index.js")], outfile: join(out, "widget.js"), format: "iife" });
await build({ ...common, entryPoints: [join(here, "client", "index.js")], outfile: join(out, "switchboard-client.js"), format: "esm" });
await copyFile(join(here, "demo.html"), join(out, "demo.html"));
