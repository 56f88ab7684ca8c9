// DOM helpers for the widget. Server data never goes through innerHTML:
// text is textContent, and html messages (already sanitised by the server)
// are rebuilt element by element from a strict allow-list.

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

const ALLOWED = new Set(["B", "I", "EM", "STRONG", "U", "S", "P", "BR", "UL", "OL", "LI", "CODE", "PRE", "BLOCKQUOTE", "SPAN", "DIV", "A"]);

function safeHref(href) {
  try {
    const u = new URL(href, "https://invalid.invalid/");
    return ["http:", "https:", "mailto:"].includes(u.protocol) && !href.startsWith("/") ? u.href : null;
  } catch {
    return null;
  }
}

function copy(node, out) {
  for (const child of node.childNodes) {
    if (child.nodeType === 3) {
      out.append(document.createTextNode(child.textContent));
    } else if (child.nodeType === 1) {
      if (!ALLOWED.has(child.tagName)) {
        // Unknown elements keep their text, never their markup; scripts and
        // styles lose both.
        if (child.tagName !== "SCRIPT" && child.tagName !== "STYLE") copy(child, out);
        continue;
      }
      const e = document.createElement(child.tagName.toLowerCase());
      if (child.tagName === "A") {
        const href = safeHref(child.getAttribute("href") || "");
        if (href) {
          e.setAttribute("href", href);
          e.setAttribute("target", "_blank");
          e.setAttribute("rel", "noopener noreferrer nofollow");
        }
      }
      copy(child, e);
      out.append(e);
    }
  }
}

/** Renders message html through the allow-list. */
export function safeHTML(html) {
  const doc = new DOMParser().parseFromString(`<body>${html}</body>`, "text/html");
  const frag = document.createDocumentFragment();
  copy(doc.body, frag);
  return frag;
}

export function format(template, vars = {}) {
  return template.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : `{${k}}`));
}

export function bytes(n) {
  if (n >= 1 << 20) return `${Math.round((n / (1 << 20)) * 10) / 10} MB`;
  if (n >= 1 << 10) return `${Math.round(n / (1 << 10))} KB`;
  return `${n} B`;
}
