// Users: everyone who signs in (agents, supervisors, admins), their
// display names and roles, and new accounts (GET/POST/PATCH /users).
import { el } from "../console/common.js";
import { errorText, field, input, select, status } from "./form.js";

const ROLES = ["agent", "supervisor", "admin"];

export async function usersSection(a) {
  const t = a.t;
  const users = await a.api.users();
  const roles = ROLES.map((r) => [r, t("role_" + r)]);
  const body = el("tbody");
  const st = status();

  const row = (u) => {
    const name = input({ value: u.displayName || "", "aria-label": t("displayNameOf", { user: u.username }) });
    const role = select(roles, u.role, { "aria-label": t("roleOf", { user: u.username }), disabled: u.id === a.user.id });
    const rowStatus = el("span", { class: "row-status", role: "status" });
    const save = el("button", { type: "button", text: t("save"), "aria-label": t("saveUser", { user: u.username }) });
    save.addEventListener("click", async () => {
      const patch = {};
      if (name.value.trim() !== (u.displayName || "")) patch.displayName = name.value.trim();
      if (role.value !== u.role) patch.role = role.value;
      if (!Object.keys(patch).length) return (rowStatus.textContent = t("unchanged"));
      save.disabled = true;
      rowStatus.textContent = "";
      try {
        Object.assign(u, await a.api.patchUser(u.id, patch));
        rowStatus.textContent = t("saved");
        st.clear();
      } catch (err) {
        st.fail(errorText(t, err));
      } finally {
        save.disabled = false;
      }
    });
    return el("tr", { "data-user": u.username },
      el("td", { class: "mono", text: u.username }), el("td", {}, name), el("td", {}, role), el("td", {}, save, rowStatus));
  };
  body.append(...users.map(row));

  // A new account.
  const nu = input({ autocomplete: "off", autocapitalize: "none", required: true });
  const nd = input({ autocomplete: "off" });
  const nr = select(roles, "agent");
  const np = input({ type: "password", autocomplete: "new-password", required: true });
  const form = el("form", { class: "card create", "aria-labelledby": "new-user-title" },
    el("h3", { id: "new-user-title", text: t("newUser") }),
    el("div", { class: "fields" }, field(t("username"), nu), field(t("displayName"), nd), field(t("role"), nr), field(t("password"), np, t("passwordHint"))),
    el("button", { type: "submit", class: "primary", text: t("createUser") }));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!nu.value.trim() || !np.value) return st.fail(t("userMissing"));
    try {
      const u = await a.api.createUser({ username: nu.value.trim(), displayName: nd.value.trim() || nu.value.trim(), role: nr.value, password: np.value });
      body.append(row(u));
      st.ok(t("userCreated", { user: u.username }));
      form.reset();
    } catch (err) {
      st.fail(errorText(t, err));
    }
  });

  return el("section", { class: "card", "aria-labelledby": "users-title" },
    el("h2", { id: "users-title", text: t("section_users") }),
    el("p", { class: "muted", text: t("usersHint") }),
    ...st.nodes,
    el("table", { class: "grid" },
      el("thead", {}, el("tr", {}, ...["username", "displayName", "role"].map((k) => el("th", { scope: "col", text: t(k) })), el("th", { scope: "col" }, el("span", { class: "sr", text: t("actions") })))),
      body),
    form);
}
