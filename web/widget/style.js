// The widget's styles, scoped by its shadow root. Colours come from the
// tenant's settings through custom properties.
export const css = `
:host { all: initial; }
* { box-sizing: border-box; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.launcher { position: fixed; right: 20px; bottom: 20px; width: 56px; height: 56px; border-radius: 50%; border: 0;
  background: var(--sb-primary); color: #fff; cursor: pointer; box-shadow: 0 4px 14px rgba(0,0,0,.25); z-index: 2147483000; }
.launcher:focus-visible, button:focus-visible, textarea:focus-visible, input:focus-visible { outline: 3px solid #f5a623; outline-offset: 2px; }
.launcher svg { width: 28px; height: 28px; }
.badge { position: absolute; top: -2px; right: -2px; min-width: 20px; height: 20px; padding: 0 5px; border-radius: 10px;
  background: #c50f1f; color: #fff; font-size: 12px; line-height: 20px; font-weight: 600; }
.badge[hidden] { display: none; }
.panel { position: fixed; right: 20px; bottom: 88px; width: 370px; height: min(600px, calc(100vh - 110px)); height: min(600px, calc(100dvh - 110px)); display: flex; flex-direction: column;
  background: var(--sb-bg); color: var(--sb-text); border-radius: 12px; box-shadow: 0 8px 30px rgba(0,0,0,.3); overflow: hidden; z-index: 2147483000; }
.panel[hidden] { display: none; }
header { background: var(--sb-primary); color: #fff; padding: 12px 14px; display: flex; align-items: center; gap: 8px; }
header h2 { font-size: 16px; margin: 0; flex: 1; }
header button { background: transparent; border: 0; color: #fff; font-size: 22px; cursor: pointer; line-height: 1; padding: 4px 8px; }
header button.end { font-size: 13px; line-height: 1.2; padding: 5px 9px; border: 1px solid rgba(255,255,255,.75); border-radius: 6px; }
header button.end[aria-disabled="true"] { opacity: .6; cursor: default; }
.end-confirm { padding: 10px 12px; background: #fdecea; color: #4a1010; border-bottom: 1px solid #f1c4c0; }
.end-confirm[hidden] { display: none; }
.end-confirm p { margin: 0 0 8px; font-size: 14px; font-weight: 600; }
.end-actions { display: flex; gap: 8px; }
.end-actions button { flex: 1; border-radius: 6px; padding: 8px 10px; font-size: 14px; cursor: pointer; }
.end-actions button[aria-disabled="true"] { opacity: .6; cursor: default; }
.end-actions .danger { background: #a4262c; color: #fff; border: 0; }
.end-actions .skip { background: #fff; border: 1px solid #8a8886; color: #1b1b1b; }
.status, .notice { font-size: 13px; padding: 6px 12px; margin: 0; background: #fff4ce; color: #4a3b00; }
.status:empty, .notice[hidden] { display: none; }
.queue { font-size: 13px; padding: 6px 12px; margin: 0; background: #e7f0fa; color: #123a63; }
.queue:empty { padding: 0; } /* kept in the accessibility tree: a live region that appears is not always read */
.body { display: flex; flex-direction: column; flex: 1; min-height: 0; }
.log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 8px; }
.msg { max-width: 80%; padding: 8px 10px; border-radius: 10px; background: #f0f2f5; color: #1b1b1b; white-space: pre-wrap; word-wrap: break-word; }
.msg.mine { align-self: flex-end; background: var(--sb-primary); color: #fff; }
.msg.mine a { color: #fff; }
.msg .who { display: block; font-size: 11px; opacity: .75; margin-bottom: 2px; }
.msg img { max-width: 100%; max-height: 240px; border-radius: 6px; display: block; margin-top: 4px; }
.msg .file { display: block; margin-top: 4px; }
.msg p, .msg ul, .msg ol, .msg pre { margin: 0 0 4px; white-space: normal; }
.msg pre { white-space: pre-wrap; }
.sys { align-self: center; font-size: 12px; opacity: .7; }
.seen { align-self: flex-end; font-size: 11px; opacity: .7; margin-top: -4px; }
.typing { font-size: 12px; padding: 0 12px 4px; min-height: 18px; opacity: .75; }
.greeting { align-self: flex-start; }
form.prechat { padding: 14px; display: flex; flex-direction: column; gap: 10px; overflow-y: auto; }
form.prechat label { font-size: 13px; margin-bottom: -6px; }
input, textarea { font-size: 14px; padding: 8px; border: 1px solid #8a8886; border-radius: 6px; color: #1b1b1b; background: #fff; }
.error { color: #a4262c; font-size: 13px; }
.error:empty { display: none; }
button.primary:disabled { opacity: .6; cursor: default; }
button.primary { background: var(--sb-primary); color: #fff; border: 0; border-radius: 6px; padding: 10px; font-size: 14px; cursor: pointer; }
.composer { display: flex; gap: 6px; padding: 8px; border-top: 1px solid #e1dfdd; align-items: flex-end; }
.composer textarea { flex: 1; resize: none; min-height: 38px; max-height: 120px; }
.composer .icon { background: transparent; border: 1px solid #8a8886; border-radius: 6px; width: 38px; height: 38px; cursor: pointer; color: var(--sb-text);
  display: flex; align-items: center; justify-content: center; padding: 0; flex: none; }
.composer .icon svg { width: 20px; height: 20px; }
.rating { flex: none; max-height: 50%; overflow-y: auto; }
.rating:empty { display: none; }
form.rate { display: flex; flex-direction: column; gap: 6px; padding: 10px 12px; border-top: 1px solid #e1dfdd; }
.rate-title { margin: 0; font-size: 14px; font-weight: 600; }
.stars { display: flex; gap: 2px; }
.stars .star { background: transparent; border: 0; padding: 0 3px; font-size: 28px; line-height: 1; cursor: pointer; color: #8a8886; }
.stars .star.on { color: #b26a00; }
form.rate label { font-size: 13px; }
form.rate textarea { resize: vertical; min-height: 38px; }
.rate-actions { display: flex; gap: 8px; }
.rate-actions .primary { flex: 1; }
.rate-actions .skip { background: transparent; border: 1px solid #8a8886; border-radius: 6px; padding: 10px 14px; font-size: 14px; cursor: pointer; color: var(--sb-text); }
.rate-thanks { margin: 0; font-size: 14px; }
.rate-thanks:empty { margin-top: -6px; } /* likewise; takes no room until it speaks */
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (max-width: 480px) {
  .panel { right: 0; bottom: 0; width: 100vw; height: 100vh; height: 100dvh; border-radius: 0; }
}
`;
