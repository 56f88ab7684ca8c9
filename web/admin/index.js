// The admin pages, served at /admin (docs/contactcenter.md). Their
// language is the one chosen last, else the browser's, else English.
// Every web/admin/i18n/<locale>.json, collected by build.mjs.
import catalogues from "sb:i18n";
import { pickLocale, translator } from "../console/common.js";
import { Admin } from "./admin.js";

function boot() {
  const root = document.getElementById("admin");
  if (!root) return;
  const locale = pickLocale(catalogues);
  const app = new Admin(root, { locale, catalogues, t: translator(catalogues, locale) });
  app.start().catch((e) => console.error("switchboard admin:", e));
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
