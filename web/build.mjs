// Bundles the browser code into internal/web/dist, which the Go binary
// embeds: `node web/build.mjs` (or `go generate ./internal/web`).
// --out DIR writes elsewhere (the staleness test compares the two).
// The output depends only on the sources and the pinned esbuild version.
import { build } from "esbuild";
import { copyFile, mkdir, readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const i = process.argv.indexOf("--out");
const out = i > 0 ? process.argv[i + 1] : join(here, "..", "internal", "web", "dist");
await mkdir(out, { recursive: true });

// "sb:i18n" is every catalogue in the entry's i18n folder (widget/i18n
// for the widget, desk/i18n for the agent desktop), keyed by locale, so a
// new language needs no code change. Sorted: the bundle must not depend on
// the order the file system lists them in.
const i18n = (i18nDir) => ({
  name: "sb-i18n",
  setup(b) {
    b.onResolve({ filter: /^sb:i18n$/ }, () => ({ path: "i18n", namespace: "sb-i18n" }));
    b.onLoad({ filter: /.*/, namespace: "sb-i18n" }, async () => {
      const files = (await readdir(i18nDir)).filter((f) => f.endsWith(".json")).sort();
      const all = {};
      for (const f of files) all[f.slice(0, -5).toLowerCase()] = JSON.parse(await readFile(join(i18nDir, f), "utf8"));
      return { contents: JSON.stringify(all), loader: "json", watchFiles: files.map((f) => join(i18nDir, f)) };
    });
  },
});

const common = { bundle: true, minify: true, target: ["es2020"], legalComments: "none", charset: "utf8", logLevel: "warning" };
await build({ ...common, entryPoints: [join(here, "widget", "index.js")], outfile: join(out, "widget.js"), format: "iife", plugins: [i18n(join(here, "widget", "i18n"))] });
await build({ ...common, entryPoints: [join(here, "client", "index.js")], outfile: join(out, "switchboard-client.js"), format: "esm" });
await copyFile(join(here, "demo.html"), join(out, "demo.html"));
// The agent desktop: served at /desk (desk.html), its code and styles
// under /web/.
await build({ ...common, entryPoints: [join(here, "desk", "index.js")], outfile: join(out, "desk.js"), format: "iife", plugins: [i18n(join(here, "desk", "i18n"))] });
await build({ ...common, entryPoints: [join(here, "desk", "desk.css")], outfile: join(out, "desk.css") });
await copyFile(join(here, "desk", "desk.html"), join(out, "desk.html"));
// The supervisor console (/console) and the admin pages (/admin), the
// same way.
for (const app of ["console", "admin"]) {
  await build({ ...common, entryPoints: [join(here, app, "index.js")], outfile: join(out, `${app}.js`), format: "iife", plugins: [i18n(join(here, app, "i18n"))] });
  await build({ ...common, entryPoints: [join(here, app, `${app}.css`)], outfile: join(out, `${app}.css`) });
  await copyFile(join(here, app, `${app}.html`), join(out, `${app}.html`));
}
