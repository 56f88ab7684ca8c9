// DOM helpers for the widget. Server data never goes through innerHTML:
// text is textContent, and html messages (already sanitised by the server)
// are rebuilt element by element from a strict allow-list, in case the
// server's sanitiser ever lets something through.

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

/**
 * An SVG icon from path data (built, not parsed, so no innerHTML), filled,
 * or drawn as a line when stroke is set.
 */
export function icon(d, stroke = false) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  const attrs = stroke
    ? { fill: "none", stroke: "currentColor", "stroke-width": "2", "stroke-linecap": "round", "stroke-linejoin": "round" }
    : { fill: "currentColor" };
  for (const [k, v] of Object.entries({ viewBox: "0 0 24 24", "aria-hidden": "true", focusable: "false", ...attrs })) svg.setAttribute(k, v);
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", d);
  svg.append(path);
  return svg;
}

const ALLOWED = new Set(["B", "I", "EM", "STRONG", "P", "BR", "UL", "OL", "LI", "A", "CODE", "PRE"]);
// Elements whose text is not message text either.
const DROPPED = new Set(["SCRIPT", "STYLE", "TEMPLATE", "NOSCRIPT", "IFRAME", "OBJECT", "EMBED", "SVG", "MATH", "TITLE", "HEAD"]);

/**
 * An absolute URL with one of the given schemes, or null. Relative links
 * would resolve against the host page, which the message never meant.
 */
export function safeURL(href, schemes = ["http:", "https:"]) {
  try {
    const u = new URL(String(href).trim());
    return schemes.includes(u.protocol) ? u.href : null;
  } catch {
    return null;
  }
}

function copy(node, out) {
  for (const child of node.childNodes) {
    if (child.nodeType === Node.TEXT_NODE) {
      out.append(document.createTextNode(child.data));
      continue;
    }
    if (child.nodeType !== Node.ELEMENT_NODE || DROPPED.has(child.tagName.toUpperCase())) continue;
    if (!ALLOWED.has(child.tagName)) {
      // Unknown elements keep their text, never their markup.
      copy(child, out);
      continue;
    }
    const e = document.createElement(child.tagName.toLowerCase());
    if (child.tagName === "A") {
      const href = safeURL(child.getAttribute("href") || "", ["http:", "https:", "mailto:"]);
      if (href) {
        e.setAttribute("href", href);
        e.setAttribute("target", "_blank");
        e.setAttribute("rel", "noopener noreferrer");
      }
    }
    copy(child, e);
    out.append(e);
  }
}

/** Renders message html through the allow-list; attributes never pass. */
export function safeHTML(html) {
  // A DOMParser document has no browsing context: nothing in it loads or
  // runs while it is read.
  const doc = new DOMParser().parseFromString(String(html), "text/html");
  const frag = document.createDocumentFragment();
  copy(doc.body, frag);
  return frag;
}

/** Fills {name} placeholders; unknown ones stay visible for translators. */
export function format(template, vars = {}) {
  return template.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : `{${k}}`));
}

export function bytes(n) {
  if (n >= 1 << 20) return `${Math.round((n / (1 << 20)) * 10) / 10} MB`;
  if (n >= 1 << 10) return `${Math.round(n / (1 << 10))} KB`;
  return `${n} B`;
}

// A colour from the tenant's settings goes into CSS only if it is plainly a
// colour: a custom property could otherwise carry url(…) and the like.
export function cssColor(v, fallback) {
  return /^(#[0-9a-f]{3,8}|(rgb|hsl)a?\([\d\s.,%/]+\)|[a-z]{3,20})$/i.test(String(v || "").trim()) ? String(v).trim() : fallback;
}
