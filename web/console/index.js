// The supervisor console, served at /console (docs/contactcenter.md).
// Its language is the one chosen last, else the browser's, else English.
// Every web/console/i18n/<locale>.json, collected by build.mjs.
import catalogues from "sb:i18n";
import { pickLocale, translator } from "./common.js";
import { Console } from "./console.js";

function boot() {
  const root = document.getElementById("console");
  if (!root) return;
  const locale = pickLocale(catalogues);
  const app = new Console(root, { locale, catalogues, t: translator(catalogues, locale) });
  app.start().catch((e) => console.error("switchboard console:", e));
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
