// The access audit: filters and "Older records" paging.
import { api, showError } from "./api.js";

const form = document.getElementById("audit-filter");
const body = document.querySelector("#audit-table tbody");
const more = document.getElementById("audit-more");
let cursor = "";

const LABELS = { login: "Login", logout: "Logout", login_failed: "Failed login" };

function query() {
  const params = new URLSearchParams();
  const { org_id: org, ip, since, until, action } = form.elements;
  if (org.value) params.set("org_id", org.value);
  if (ip.value) params.set("ip", ip.value.trim());
  if (since.value) params.set("since", `${since.value}T00:00:00+00:00`);
  if (until.value) params.set("until", `${until.value}T23:59:59.999+00:00`);
  if (action.value) params.set("action", action.value);
  if (cursor) params.set("cursor", cursor);
  return params;
}

async function show(append) {
  const result = await api(`/api/v1/audit?${query()}`);
  if (!result.ok) return showError(document.querySelector("main"), result);
  if (!append) body.replaceChildren();
  for (const event of result.data.events) {
    const row = document.createElement("tr");
    const cells = [
      new Date(event.at).toLocaleString(),
      LABELS[event.action] ?? event.action,
      event.email,
      event.ip,
      event.user_agent,
    ];
    for (const text of cells) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    row.dataset.action = event.action;
    body.append(row);
  }
  cursor = result.data.next_cursor;
  more.hidden = !cursor;
  document.getElementById("audit-empty").hidden = body.children.length > 0;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  cursor = "";
  show(false);
});
more.addEventListener("click", () => show(true));
show(false);
