// The access audit: filters and "Older records" paging.
import { api, clearError, showError } from "./api.js";

const form = document.getElementById("audit-filter");
const body = document.querySelector("#audit-table tbody");
const more = document.getElementById("audit-more");
const main = document.querySelector("main");
let cursor = "";
// Each load gets a number; an answer to an older load (a double click, a filter changed while
// a page was on its way) is dropped, so rows are never appended twice or under a new filter.
let loads = 0;

const LABELS = { login: "Login", logout: "Logout", login_failed: "Failed login" };

function query() {
  const params = new URLSearchParams();
  const { org_id: org, ip, since, until, action } = form.elements;
  if (org.value) params.set("org_id", org.value);
  if (ip.value) params.set("ip", ip.value.trim());
  if (since.value) params.set("since", `${since.value}T00:00:00+00:00`);
  if (until.value) params.set("until", `${until.value}T23:59:59.999+00:00`);
  if (action.value) params.set("action", action.value);
  return params;
}

// "Older records" continues the filter that was applied, not what the fields say now.
let applied = query();

function pageQuery() {
  const params = new URLSearchParams(applied);
  if (cursor) params.set("cursor", cursor);
  return params;
}

function showRows(events) {
  for (const event of events) {
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
}

async function show(append) {
  const load = ++loads;
  more.disabled = true;
  if (!append) {
    clearError(main);
    for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  }
  const result = await api(`/api/v1/audit?${pageQuery()}`);
  if (load !== loads) return;
  more.disabled = false;
  if (!result.ok) {
    // Results of an earlier filter must not stay under an error about the new one.
    body.replaceChildren();
    more.hidden = true;
    document.getElementById("audit-empty").hidden = true;
    return showError(main, result);
  }
  if (!append) body.replaceChildren();
  showRows(result.data.events);
  cursor = result.data.next_cursor;
  more.hidden = !cursor;
  document.getElementById("audit-empty").hidden = body.children.length > 0;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  cursor = "";
  applied = query();
  show(false);
});
more.addEventListener("click", () => show(true));
show(false);
