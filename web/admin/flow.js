// The flow editor: the running flow's YAML in a textarea with line
// numbers. Saving sends it as it is (PUT /bots/{id}/flow, application/
// yaml); a flow with mistakes comes back as 400 InvalidFlow with one
// detail per mistake ("line L, column C: path"), listed here as links to
// the line, which the gutter marks and the editor selects. The running
// flow stays until a valid one is saved. Format: docs/flows.md.
import { el } from "../console/common.js";
import { errorText, status } from "./form.js";

const TARGET = /^line (\d+), column (\d+)(?::\s*(.*))?$/;

/** The mistakes of an InvalidFlow answer: [{line, column, path, message}]. */
export function flowProblems(err) {
  const e = (err && err.error) || {};
  if (e.code !== "InvalidFlow") return null;
  return (e.details || []).map((d) => {
    const m = TARGET.exec(d.target || "") || [];
    return { line: Number(m[1]) || 0, column: Number(m[2]) || 0, path: m[3] || "", message: d.message || "" };
  });
}

export class FlowEditor {
  constructor(a, bot) {
    this.a = a;
    this.t = a.t;
    this.bot = bot;
    this.bad = new Set();
    const t = this.t;
    this.version = el("span", { class: "muted version" });
    this.gutter = el("div", { class: "gutter", "aria-hidden": "true" });
    this.mark = el("div", { class: "line-mark", hidden: true });
    this.text = el("textarea", { id: `flow-${bot.id}`, class: "code", spellcheck: "false", wrap: "off", autocapitalize: "off", autocomplete: "off",
      rows: "24", "aria-describedby": `flow-help-${bot.id}` });
    this.text.addEventListener("input", () => this.lines());
    this.text.addEventListener("scroll", () => this.sync());
    this.text.addEventListener("keydown", (e) => {
      // Tab indents with spaces (YAML allows no tabs); Esc then Tab leaves.
      if (e.key === "Tab" && !e.shiftKey && !this.escaped) {
        e.preventDefault();
        this.text.setRangeText("  ", this.text.selectionStart, this.text.selectionEnd, "end");
        this.lines();
      }
      this.escaped = e.key === "Escape";
      if ((e.ctrlKey || e.metaKey) && e.key === "s") {
        e.preventDefault();
        this.save();
      }
    });
    this.problems = el("ol", { class: "problems", "aria-label": t("flowProblems") });
    this.st = status();
    this.saveBtn = el("button", { type: "button", class: "primary", text: t("saveFlow"), onclick: () => this.save() });
    this.node = el("section", { class: "flow", "aria-labelledby": `flow-title-${bot.id}` },
      el("h3", { id: `flow-title-${bot.id}` }, el("span", { text: t("flowTitle") }), this.version),
      el("p", { class: "muted", id: `flow-help-${bot.id}`, text: t("flowHelp") }),
      el("label", { for: this.text.id, class: "sr", text: t("flowSource") }),
      el("div", { class: "editor" }, this.gutter, el("div", { class: "code-box" }, this.mark, this.text)),
      el("div", { class: "bar" }, this.saveBtn, ...this.st.nodes),
      this.problems);
  }

  async load() {
    try {
      const f = await this.a.api.flow(this.bot.id);
      this.text.value = f.source;
      this.showVersion(f.version);
    } catch (err) {
      if (err.status !== 404) this.st.fail(errorText(this.t, err));
      this.text.value = "";
      this.showVersion(0);
    }
    this.lines();
  }

  showVersion(v) {
    this.node.dataset.version = String(v || 0);
    this.version.textContent = v ? this.t("flowVersion", { version: v }) : this.t("noFlow");
  }

  lines() {
    const n = this.text.value.split("\n").length;
    if (this.gutter.childElementCount !== n) {
      const rows = [];
      for (let i = 1; i <= n; i++) rows.push(el("div", { "data-line": String(i), text: String(i) }));
      this.gutter.replaceChildren(...rows);
    }
    for (const d of this.gutter.children) d.classList.toggle("bad", this.bad.has(Number(d.dataset.line)));
    this.sync();
  }

  lineHeight() {
    return parseFloat(getComputedStyle(this.text).lineHeight) || 20;
  }

  sync() {
    this.gutter.scrollTop = this.text.scrollTop;
    if (!this.mark.hidden) {
      const pad = parseFloat(getComputedStyle(this.text).paddingTop) || 0;
      this.mark.style.top = `${pad + (this.markLine - 1) * this.lineHeight() - this.text.scrollTop}px`;
      this.mark.style.height = `${this.lineHeight()}px`;
    }
  }

  /** Selects line n (from column c) and brings it into view. */
  jump(n, c = 1) {
    const lines = this.text.value.split("\n");
    const line = Math.min(Math.max(1, n), lines.length);
    let start = 0;
    for (let i = 0; i < line - 1; i++) start += lines[i].length + 1;
    const from = start + Math.min(Math.max(0, c - 1), lines[line - 1].length);
    this.text.focus();
    this.text.setSelectionRange(from, start + lines[line - 1].length);
    this.text.scrollTop = Math.max(0, (line - 1) * this.lineHeight() - this.text.clientHeight / 3);
    this.markLine = line;
    this.mark.hidden = false;
    this.mark.dataset.line = String(line);
    this.sync();
  }

  showProblems(list) {
    const t = this.t;
    this.bad = new Set(list.map((p) => p.line).filter(Boolean));
    this.problems.replaceChildren(...list.map((p) => {
      const text = p.line ? t("problemAt", { line: p.line, column: p.column, message: p.message }) : p.message;
      return el("li", { "data-line": String(p.line) },
        el("button", { type: "button", class: "link", text, title: p.path, onclick: () => this.jump(p.line, p.column) }));
    }));
    this.lines();
    if (list.length && list[0].line) this.jump(list[0].line, list[0].column);
    else this.mark.hidden = true;
  }

  async save() {
    const t = this.t;
    this.saveBtn.disabled = true;
    this.st.clear();
    try {
      const b = await this.a.api.putFlow(this.bot.id, this.text.value);
      this.showProblems([]);
      this.mark.hidden = true;
      this.showVersion(b.flowVersion);
      this.st.ok(t("flowSaved", { version: b.flowVersion }));
      if (this.onSaved) this.onSaved(b);
    } catch (err) {
      const list = flowProblems(err);
      if (list) {
        this.st.fail(t("flowInvalid", { count: list.length }));
        this.showProblems(list);
      } else {
        this.st.fail(errorText(t, err));
      }
    } finally {
      this.saveBtn.disabled = false;
    }
  }
}
