// The dashboard: the selected organization's appliances, kept live over the hub's websocket.
import { api } from "./api.js";
import { checkName } from "./names.js";
import { askNewName } from "./rename_dialog.js";

const PRODUCTS = { control: "Kerio Control", connect: "Kerio Connect", operator: "Kerio Operator" };
const org = document.body.dataset.org;
const rows = new Map(); // appliance id -> appliance
const table = document.getElementById("appliances");
const search = document.getElementById("appliance-search");

async function showHub() {
  const status = document.getElementById("hub-status");
  const ready = await fetch("/readyz", { headers: { Accept: "application/json" } });
  status.textContent = ready.ok ? "Hub ready" : "Hub not ready";
  status.className = ready.ok ? "ok" : "bad";
}

function cell(content) {
  const td = document.createElement("td");
  if (typeof content === "string") td.textContent = content;
  else td.append(content);
  return td;
}

function button(label, className, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = className;
  b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}

function row(appliance) {
  const tr = document.createElement("tr");
  tr.dataset.id = appliance.id;
  tr.dataset.status = appliance.status;
  const bullet = document.createElement("span");
  bullet.className = `bullet ${appliance.status}`;
  bullet.title = appliance.reasons.join(", ") || "OK";
  bullet.setAttribute("aria-label", `${appliance.status}: ${bullet.title}`);
  const product = `${PRODUCTS[appliance.product] ?? appliance.product} ${appliance.version}`;
  const pending = appliance.pending
    ? `${appliance.pending} notification${appliance.pending === 1 ? "" : "s"} pending`
    : "";
  const actions = document.createElement("span");
  if (appliance.connected) {
    const open = button("Open administration", "link", () => {});
    open.disabled = true;
    open.title = "The administration tunnel arrives in a later version.";
    actions.append(open, document.createTextNode(" · "));
  }
  actions.append(
    button("History", "link", () => showHistory(appliance)),
    document.createTextNode(" · "),
    button("Rename", "link", () =>
      askNewName({
        title: `Rename ${appliance.name}`,
        current: appliance.name,
        onSave: (typed) => {
          // The hub's name rule, checked here first: its message shows beside the field.
          const { name, message } = checkName(typed);
          if (message) return { ok: false, data: { error: { field: "name", message } } };
          return api(`/api/v1/organizations/${org}/appliances/${appliance.id}`, {
            method: "PATCH",
            body: { name },
          });
        },
      }),
    ),
    document.createTextNode(" · "),
    button("Remove", "link", async () => {
      if (!window.confirm(`Remove ${appliance.name} from MyKerio?`)) return;
      await api(`/api/v1/organizations/${org}/appliances/${appliance.id}`, { method: "DELETE" });
    }),
  );
  tr.append(cell(bullet), cell(appliance.name), cell(product), cell(pending), cell(actions));
  return tr;
}

const history = document.getElementById("history");
let historyNext = null; // () => load the next page, or null
document.getElementById("history-close").addEventListener("click", () => history.close());
document.getElementById("history-more").addEventListener("click", () => historyNext?.());

async function showHistory(appliance, cursor = "") {
  const body = history.querySelector("tbody");
  if (!cursor) {
    body.replaceChildren();
    document.getElementById("history-title").textContent = `Status history of ${appliance.name}`;
    if (!history.open) history.showModal();
  }
  const base = `/api/v1/organizations/${org}/appliances/${appliance.id}/history?limit=20`;
  const result = await api(cursor ? `${base}&cursor=${encodeURIComponent(cursor)}` : base);
  if (!result.ok) return;
  for (const change of result.data.changes) {
    const bullet = document.createElement("span");
    bullet.className = `bullet ${change.status}`;
    const status = document.createElement("span");
    status.append(bullet, ` ${change.status}`);
    const tr = document.createElement("tr");
    tr.dataset.status = change.status;
    tr.append(
      cell(new Date(change.at).toLocaleString()),
      cell(status),
      cell(change.reasons.join(", ") || "OK"),
    );
    body.append(tr);
  }
  document.getElementById("history-empty").hidden = body.children.length > 0;
  const next = result.data.next_cursor;
  historyNext = next ? () => showHistory(appliance, next) : null;
  document.getElementById("history-more").hidden = !next;
}

function render() {
  const needle = search.value.trim().toLowerCase();
  const shown = [...rows.values()]
    .filter((a) => !needle || `${a.name} ${a.product} ${a.version}`.toLowerCase().includes(needle))
    .sort((a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: "base" }));
  table.querySelector("tbody").replaceChildren(...shown.map(row));
  table.hidden = rows.size === 0;
  document.getElementById("appliances-empty").hidden = rows.size > 0;
}

async function load() {
  if (!org) return render();
  const result = await api(`/api/v1/organizations/${org}/appliances`);
  if (!result.ok) return;
  for (const appliance of result.data.appliances) rows.set(appliance.id, appliance);
  render();
}

function connectLive() {
  if (!org) return;
  const socket = new WebSocket(`wss://${window.location.host}/api/v1/live?org=${encodeURIComponent(org)}`);
  socket.addEventListener("open", () => {
    document.body.dataset.live = "open";
  });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "appliance") {
      rows.set(message.appliance.id, message.appliance);
      render();
    } else if (message.type === "appliance_removed") {
      rows.delete(message.id);
      render();
    } else if (message.type === "access_revoked") {
      const switcher = document.getElementById("org-switcher");
      const name = switcher?.selectedOptions[0]?.textContent ?? "this organization";
      const alert = document.getElementById("live-alert");
      alert.textContent =
        message.reason === "organization_deleted"
          ? `${name} was deleted.`
          : `You no longer have access to ${name}.`;
      alert.hidden = false;
      rows.clear();
      render();
      document.body.dataset.live = "revoked";
    }
  });
  // 4401: the session ended (logout elsewhere, password changed, ended in Settings) or ran
  // out; nothing on this page works any more, so go to the login page.
  socket.addEventListener("close", (event) => {
    if (event.code !== 4401) return;
    document.body.dataset.live = "ended";
    const next = encodeURIComponent(window.location.pathname + window.location.search);
    const expired = event.reason === "session_expired" ? "expired=1&" : "";
    window.location.assign(`/login?${expired}next=${next}`);
  });
}

search.addEventListener("input", render);
showHub();
load();
connectLive();
