// The agent desktop, served at /desk (docs/contactcenter.md). Its language
// is the one the agent chose last, else the browser's, else English.
import { Desk } from "./desk.js";
// Every web/desk/i18n/<locale>.json, collected by build.mjs.
import catalogues from "sb:i18n";

function pickLocale() {
  let stored = "";
  try {
    stored = localStorage.getItem("switchboard:desk:locale") || "";
  } catch {
    /* no storage: the browser's language */
  }
  for (const l of [stored, ...(navigator.languages || []), navigator.language]) {
    const tag = String(l || "").toLowerCase().replace(/_/g, "-");
    if (catalogues[tag]) return tag;
    if (catalogues[tag.split("-")[0]]) return tag.split("-")[0];
  }
  return "en";
}

function boot() {
  const root = document.getElementById("desk");
  if (!root) return;
  const desk = new Desk(root, { locale: pickLocale(), catalogues });
  desk.start().catch((e) => console.error("switchboard desk:", e));
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
