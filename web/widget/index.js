// The Switchboard web chat widget: <script src=".../widget.js"
// data-tenant="demo" async></script> on any page. See docs/webchat.md.
import { Widget } from "./widget.js";
// Every web/widget/i18n/<locale>.json, collected by build.mjs: adding a
// language is adding its file.
import catalogues from "sb:i18n";

const script = document.currentScript;

/** The visitor's language: data-locale, else the browser's, else English. */
function pickLocale(wanted) {
  for (const l of [wanted, ...(navigator.languages || []), navigator.language]) {
    const tag = String(l || "").toLowerCase().replace(/_/g, "-");
    if (catalogues[tag]) return tag;
    if (catalogues[tag.split("-")[0]]) return tag.split("-")[0];
  }
  return "en";
}

function boot() {
  const once = Symbol.for("switchboard.widget");
  if (window[once]) return; // the tag twice on one page
  window[once] = true;
  const src = script && script.src ? new URL(script.src) : new URL(location.href);
  const ds = (script && script.dataset) || {};
  const locale = pickLocale(ds.locale);
  const w = new Widget({
    endpoint: src.origin, tenant: ds.tenant || "demo", locale, catalogue: catalogues[locale], fallback: catalogues.en,
    visitorToken: ds.visitorToken,
  });
  window.Switchboard = {
    open: () => w.open(),
    close: () => w.close(),
    identify: (token) => w.identify(token),
  };
  w.start().catch((e) => console.error("switchboard widget:", e));
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
