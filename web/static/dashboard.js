// Appliances: every appliance of all the user's organizations in one table, a <tbody> per
// organization under a collapsible header that counts each colour; search, filters and sort;
// kept live over one hub websocket per organization. A live change updates its one row in
// place (and moves it if the sort order asks), never the whole list.
import { api } from "./api.js";
import { liveBanner, say } from "./feedback.js";
import { dialogForm, openModal } from "./modal.js";
import { checkName } from "./names.js";
import { showNotifications } from "./notification_list.js";
import { askNewName } from "./rename_dialog.js";

const PRODUCTS = { control: "Kerio Control", connect: "Kerio Connect", operator: "Kerio Operator" };
// The guide's colours (2.8.1) in words, worst first.
const STATUS = {
  red: { words: "Down", count: "down", rank: 0 },
  yellow: { words: "Warning", count: "warning", rank: 1 },
  grey: { words: "Reserved", count: "reserved", rank: 2 },
  green: { words: "Up", count: "up", rank: 3 },
};
const COLLAPSED_KEY = "mykerio.collapsed";
const collator = new Intl.Collator(undefined, { sensitivity: "base", numeric: true });
const $ = (id) => document.getElementById(id);
const table = $("appliances");
const search = $("appliance-search");
const statusFilter = $("filter-status");
const orgFilter = $("filter-org");
const sortBy = $("sort");

// org id -> {id, name, appliances: Map(id -> appliance), rows: Map(id -> tr), body, toggle}
const groups = new Map();
const changedAt = new Map(); // appliance id -> ms of its last change seen (for "Last change")
const haystacks = new Map(); // appliance id -> its searchable words, lowercased
const matched = new Map(); // appliance id -> whether the search and filters let it through
const collapsed = new Set(JSON.parse(localStorage.getItem(COLLAPSED_KEY) || "[]"));

async function showHub() {
  const status = $("hub-status");
  const ready = await fetch("/readyz", { headers: { Accept: "application/json" } });
  status.textContent = ready.ok ? "Hub ready" : "Hub not ready";
  status.className = ready.ok ? "ok" : "bad";
}

function productOf(appliance) {
  return `${PRODUCTS[appliance.product] ?? appliance.product} ${appliance.version}`.trim();
}

function when(iso) {
  const at = new Date(iso);
  const today = new Date().toDateString() === at.toDateString();
  const time = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return today ? time : `${at.toLocaleDateString()} ${time}`;
}

// "5 min ago", "2 h 10 min ago", "3 days ago"
function ago(iso) {
  const minutes = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 60_000));
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h${minutes % 60 ? ` ${minutes % 60} min` : ""} ago`;
  return `${Math.floor(hours / 24)} days ago`;
}

// The reason in words: "Offline since 14:02", "Update available", "Online".
function reasonOf(appliance) {
  const reasons = [...appliance.reasons];
  if (!appliance.connected && appliance.last_seen && reasons[0] === "Offline") {
    reasons[0] = `Offline since ${when(appliance.last_seen)}`;
  }
  if (reasons.length === 0) return appliance.status === "green" ? "Online" : "";
  return reasons.join(", ");
}

function span(className, text) {
  const element = document.createElement("span");
  element.className = className;
  element.textContent = text;
  return element;
}

function actionButton(action, label, name, className = "secondary") {
  const b = document.createElement("button");
  b.type = "button";
  b.className = className;
  b.dataset.action = action;
  b.append(label, span("sr-only", ` ${name}`));
  return b;
}

function cell() {
  const td = document.createElement("td");
  td.setAttribute("role", "cell");
  return td;
}

function buildRow(appliance) {
  const tr = document.createElement("tr");
  tr.setAttribute("role", "row");
  tr.className = "appliance";
  tr.dataset.id = appliance.id;
  tr.dataset.org = appliance.org_id;
  tr.dataset.status = appliance.status;
  const status = STATUS[appliance.status] ?? { words: appliance.status };
  const reason = reasonOf(appliance);

  const statusCell = cell();
  const badge = span(`status status-${appliance.status}`, "");
  const bullet = span(`bullet ${appliance.status}`, "");
  bullet.title = appliance.reasons.join(", ") || "OK";
  bullet.setAttribute("aria-hidden", "true");
  badge.append(bullet, span("words", status.words));
  statusCell.append(badge);
  if (reason) statusCell.append(span("reason", reason));

  const nameCell = cell();
  nameCell.append(span("appliance-name", appliance.name), span("product", productOf(appliance)));
  if (!appliance.connected && appliance.last_seen) {
    nameCell.append(span("seen", `Last seen ${ago(appliance.last_seen)}`));
  }

  const notes = cell();
  notes.className = "notifications";
  if (appliance.pending) {
    const words = `${appliance.pending} notification${appliance.pending === 1 ? "" : "s"} pending`;
    notes.append(actionButton("notifications", words, appliance.name, "link"));
  }

  const actions = cell();
  const box = document.createElement("div");
  box.className = "actions";
  // "Open administration" (guide 2.2): only while the appliance is connected; it says so
  // when the appliance's owner turned remote administration off.
  if (appliance.connected) {
    const open = actionButton("administration", "Open administration", appliance.name);
    markAdministration(open, administration.get(appliance.id));
    box.append(open);
  }
  box.append(
    actionButton("history", "History", appliance.name),
    actionButton("rename", "Rename", appliance.name),
    actionButton("remove", "Remove", appliance.name, "secondary danger-text"),
  );
  actions.append(box);
  tr.append(statusCell, nameCell, notes, actions);
  return tr;
}

function compare(a, b) {
  const byName = () => collator.compare(a.name, b.name) || (a.id < b.id ? -1 : 1);
  switch (sortBy.value) {
    case "status":
      return (STATUS[a.status]?.rank ?? 9) - (STATUS[b.status]?.rank ?? 9) || byName();
    case "product":
      return collator.compare(productOf(a), productOf(b)) || byName();
    case "changed":
      return (changedAt.get(b.id) ?? 0) - (changedAt.get(a.id) ?? 0) || byName();
    default:
      return byName();
  }
}

function noteChange(appliance) {
  const seen = appliance.last_seen ? Date.parse(appliance.last_seen) : 0;
  changedAt.set(appliance.id, Math.max(changedAt.get(appliance.id) ?? 0, seen));
}

// "KERIO — 3 up · 1 warning · 1 down"
function countsOf(group) {
  const counts = new Map();
  for (const appliance of group.appliances.values()) {
    counts.set(appliance.status, (counts.get(appliance.status) ?? 0) + 1);
  }
  return ["green", "yellow", "red", "grey"]
    .filter((colour) => counts.get(colour))
    .map((colour) => `${counts.get(colour)} ${STATUS[colour].count}`)
    .join(" · ");
}

function updateHeader(group) {
  const counts = group.toggle.querySelector(".counts");
  const text = `— ${countsOf(group)}`;
  if (counts.textContent !== text) counts.textContent = text;
}

function makeGroup(org) {
  const body = document.createElement("tbody");
  body.setAttribute("role", "rowgroup");
  body.className = "org-group";
  body.dataset.org = org.id;
  const header = document.createElement("tr");
  header.setAttribute("role", "row");
  header.className = "org-header";
  const th = document.createElement("th");
  th.setAttribute("role", "rowheader");
  th.colSpan = 4;
  th.scope = "rowgroup";
  const toggle = document.createElement("button");
  toggle.type = "button";
  toggle.className = "org-toggle";
  toggle.dataset.action = "toggle";
  toggle.setAttribute("aria-expanded", String(!collapsed.has(org.id)));
  toggle.append(span("org-name", org.name), span("counts", ""));
  th.append(toggle);
  header.append(th);
  body.append(header);
  const group = { id: org.id, name: org.name, appliances: new Map(), rows: new Map(), body, toggle };
  groups.set(org.id, group);
  const option = document.createElement("option");
  option.value = org.id;
  option.textContent = org.name;
  orgFilter.append(option);
  return group;
}

function haystack(appliance, group) {
  let text = haystacks.get(appliance.id);
  if (text === undefined) {
    text = `${appliance.name} ${productOf(appliance)} ${appliance.ip} ${reasonOf(appliance)} ${group.name}`.toLowerCase();
    haystacks.set(appliance.id, text);
  }
  return text;
}

function matches(appliance, group, needle = search.value.trim().toLowerCase()) {
  if (statusFilter.value && appliance.status !== statusFilter.value) return false;
  return !needle || haystack(appliance, group).includes(needle);
}

// Show or hide one row by the filters and its group's header.
function place(group, tr, appliance, needle) {
  const through = matches(appliance, group, needle);
  matched.set(appliance.id, through);
  tr.hidden = collapsed.has(group.id) || !through;
}

// Attributes and text are written only when they change: every write, even of the same value,
// makes the browser check the styles of what depends on it again.
function show(element, shown) {
  if (element.hidden === shown) element.hidden = !shown;
}

// The empty states, group visibility and the summary line, from what is shown now.
function summarize() {
  let total = 0;
  let shown = 0;
  for (const group of groups.values()) {
    let inGroup = 0;
    for (const id of group.appliances.keys()) if (matched.get(id)) inGroup += 1;
    total += group.appliances.size;
    const wanted = !orgFilter.value || orgFilter.value === group.id;
    show(group.body, wanted && inGroup > 0);
    if (wanted) shown += inGroup;
  }
  show($("appliances-empty"), total === 0);
  show($("list-controls"), total > 0);
  show($("appliances-no-match"), total > 0 && shown === 0);
  show(table, total > 0 && shown > 0);
  const summary = $("list-summary");
  show(summary, total > 0);
  const text =
    shown === total
      ? `${total} appliance${total === 1 ? "" : "s"} in ${groups.size} organization${groups.size === 1 ? "" : "s"}`
      : `Showing ${shown} of ${total} appliances`;
  if (summary.textContent !== text) summary.textContent = text;
}

// Rows not built yet: the first screenful is drawn at once, the rest a chunk per task, so
// that the list's first paint does not wait for thousands of rows.
const FIRST_ROWS = 60;
const CHUNK_ROWS = 400;
const backlog = []; // [{group, ordered, at}], in the groups' order

function rowOf(group, appliance) {
  let tr = group.rows.get(appliance.id);
  if (!tr) {
    tr = buildRow(appliance);
    place(group, tr, appliance);
    group.rows.set(appliance.id, tr);
  }
  return tr;
}

// Append up to `count` of the entry's rows; how many it went through.
function appendRows(entry, count) {
  const start = entry.at;
  const end = Math.min(entry.ordered.length, start + count);
  const fragment = document.createDocumentFragment();
  for (; entry.at < end; entry.at += 1) {
    const appliance = entry.ordered[entry.at];
    // Changed, added or removed meanwhile: upsert() or drop() has dealt with it.
    if (entry.group.appliances.get(appliance.id) !== appliance) continue;
    if (entry.group.rows.has(appliance.id)) continue;
    fragment.append(rowOf(entry.group, appliance));
  }
  entry.group.body.append(fragment);
  return end - start;
}

function drain(budget = CHUNK_ROWS) {
  while (backlog.length && budget > 0) {
    const entry = backlog[0];
    budget -= appendRows(entry, budget);
    if (entry.at < entry.ordered.length) break;
    backlog.shift();
    if (entry.group.dirty) sortGroup(entry.group); // a live change came before its neighbours
  }
  if (backlog.length) {
    setTimeout(drain, 0);
    return;
  }
  document.body.dataset.loaded = "true";
  performance.mark("appliances-complete");
}

function building(group) {
  return backlog.some((entry) => entry.group === group);
}

function sortGroup(group) {
  group.dirty = false;
  const ordered = [...group.appliances.values()].sort(compare);
  const fragment = document.createDocumentFragment();
  for (const appliance of ordered) fragment.append(rowOf(group, appliance));
  group.body.append(fragment);
}

// Filters changed: every row's visibility (rows stay where they are).
function refilter() {
  const needle = search.value.trim().toLowerCase();
  for (const group of groups.values()) {
    for (const [id, appliance] of group.appliances) {
      const tr = group.rows.get(id);
      if (tr) place(group, tr, appliance, needle);
      else matched.set(id, matches(appliance, group, needle)); // placed when it is built
    }
  }
  summarize();
}

function resort() {
  backlog.length = 0; // every row is built by the sort
  for (const group of groups.values()) sortGroup(group);
  drain();
}

// One appliance added or changed: its row replaced in place, moved only if its order changed.
function upsert(appliance, group = groups.get(appliance.org_id)) {
  if (!group) return;
  noteChange(appliance);
  haystacks.delete(appliance.id);
  group.appliances.set(appliance.id, appliance);
  const tr = buildRow(appliance);
  place(group, tr, appliance);
  const old = group.rows.get(appliance.id);
  group.rows.set(appliance.id, tr);
  if (old) old.replaceWith(tr);
  // The first row after it in sort order (other than itself) decides where it goes.
  const next = [...group.appliances.values()]
    .filter((other) => other.id !== appliance.id && compare(appliance, other) < 0)
    .reduce((best, other) => (best === null || compare(other, best) < 0 ? other : best), null);
  const before = next ? group.rows.get(next.id) : null;
  if (!tr.parentNode || tr.nextElementSibling !== (before ?? null)) {
    group.body.insertBefore(tr, before ?? null);
  }
  if (!before && next) group.dirty = building(group); // its neighbour is not built yet
  updateHeader(group);
  summarize();
}

function drop(group, id) {
  group.rows.get(id)?.remove();
  group.rows.delete(id);
  group.appliances.delete(id);
  changedAt.delete(id);
  haystacks.delete(id);
  matched.delete(id);
  updateHeader(group);
  summarize();
}

function findAppliance(id) {
  for (const group of groups.values()) {
    const appliance = group.appliances.get(id);
    if (appliance) return { group, appliance };
  }
  return {};
}

// ---- History, rename, remove -------------------------------------------------------------

const history = $("history");
let historyNext = null; // () => load the next page, or null
$("history-more").addEventListener("click", () => historyNext?.());

async function showHistory(appliance, cursor = "") {
  const body = history.querySelector("tbody");
  if (!cursor) {
    body.replaceChildren();
    $("history-title").textContent = `Status history of ${appliance.name}`;
    if (!history.open) openModal(history, { focus: $("history-close") });
  }
  const base = `/api/v1/organizations/${appliance.org_id}/appliances/${appliance.id}/history?limit=20`;
  const result = await api(cursor ? `${base}&cursor=${encodeURIComponent(cursor)}` : base);
  if (!result.ok) return;
  for (const change of result.data.changes) {
    const tr = document.createElement("tr");
    tr.dataset.status = change.status;
    const at = document.createElement("td");
    at.textContent = new Date(change.at).toLocaleString();
    const status = document.createElement("td");
    const badge = span(`status status-${change.status}`, "");
    const bullet = span(`bullet ${change.status}`, "");
    bullet.setAttribute("aria-hidden", "true");
    badge.append(bullet, span("words", STATUS[change.status]?.words ?? change.status));
    status.append(badge);
    const why = document.createElement("td");
    why.textContent = change.reasons.join(", ") || "OK";
    tr.append(at, status, why);
    body.append(tr);
  }
  $("history-empty").hidden = body.children.length > 0;
  const next = result.data.next_cursor;
  historyNext = next ? () => showHistory(appliance, next) : null;
  $("history-more").hidden = !next;
}

function rename(appliance) {
  askNewName({
    title: `Rename ${appliance.name}`,
    current: appliance.name,
    onSave: async (typed) => {
      // The hub's name rule, checked here first: its message shows beside the field.
      const { name, message } = checkName(typed);
      if (message) return { ok: false, data: { error: { field: "name", message } } };
      const result = await api(`/api/v1/organizations/${appliance.org_id}/appliances/${appliance.id}`, {
        method: "PATCH",
        body: { name },
      });
      if (result.ok) {
        upsert(result.data);
        say(`${appliance.name} is now called ${result.data.name}.`);
      }
      return result;
    },
  });
}

const removeDialog = $("remove-dialog");
let removing = null; // the appliance the remove dialog is about
dialogForm(removeDialog, {
  send: () =>
    api(`/api/v1/organizations/${removing.org_id}/appliances/${removing.id}`, { method: "DELETE" }),
  done: () => {
    const group = groups.get(removing.org_id);
    if (group) drop(group, removing.id);
    say(`${removing.name} was removed from MyKerio. It keeps running, disconnected.`);
  },
});

// Which connected appliances refuse remote administration (appliance id -> state).
const administration = new Map();

function markAdministration(button, state) {
  if (state !== "off" && state !== "unsupported") return;
  button.disabled = true;
  button.replaceChildren(
    state === "off" ? "Remote administration off" : "No remote administration",
  );
  button.title =
    state === "off"
      ? "Remote administration is turned off on this appliance."
      : "This appliance cannot be administered through MyKerio.";
}

async function loadAdministration(orgIds) {
  for (const orgId of orgIds) {
    const result = await api(`/api/v1/organizations/${orgId}/administration`);
    if (!result.ok) continue;
    for (const { appliance_id: id, state } of result.data.appliances) {
      administration.set(id, state);
      const found = findAppliance(id);
      const button = found.group?.rows.get(id)?.querySelector('[data-action="administration"]');
      if (button) markAdministration(button, state);
    }
  }
}

// "Open administration": the tab opens at the click (no popup blocker), then goes to the
// tunnel origin with a single-use ticket; the appliance's own pages never share this origin.
async function openAdministration(appliance) {
  const tab = window.open("about:blank", "_blank");
  const result = await api(
    `/api/v1/organizations/${appliance.org_id}/appliances/${appliance.id}/administration`,
    { method: "POST" },
  );
  if (!result.ok) {
    if (tab) tab.close();
    say(result.data?.error?.message ?? "The administration could not be opened.", "error");
    return;
  }
  if (tab) {
    tab.opener = null;
    tab.location.href = result.data.url;
  } else {
    window.location.assign(result.data.url);
  }
}

function remove(appliance) {
  removing = appliance;
  $("remove-title").textContent = `Remove ${appliance.name} from MyKerio?`;
  openModal(removeDialog, { focus: removeDialog.querySelector("[data-close]") });
}

table.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  if (button.dataset.action === "toggle") {
    const id = button.closest("tbody").dataset.org;
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    if (open) collapsed.delete(id);
    else collapsed.add(id);
    localStorage.setItem(COLLAPSED_KEY, JSON.stringify([...collapsed]));
    const group = groups.get(id);
    for (const [rowId, tr] of group.rows) place(group, tr, group.appliances.get(rowId));
    return;
  }
  const { appliance } = findAppliance(button.closest("tr").dataset.id);
  if (!appliance) return;
  if (button.dataset.action === "administration") openAdministration(appliance);
  else if (button.dataset.action === "history") showHistory(appliance);
  else if (button.dataset.action === "rename") rename(appliance);
  else if (button.dataset.action === "remove") remove(appliance);
  else if (button.dataset.action === "notifications") showNotifications(appliance);
});

$("add-appliance").addEventListener("click", () => openModal($("add-dialog")));

// ---- Loading and the live sockets ----------------------------------------------------------

// The group's appliances replaced by `appliances`; its rows are built by appendRows().
function fill(group, appliances) {
  for (const id of group.appliances.keys()) haystacks.delete(id);
  group.appliances.clear();
  group.rows.clear();
  group.body.replaceChildren(group.body.firstElementChild);
  const needle = search.value.trim().toLowerCase();
  for (const appliance of appliances) {
    noteChange(appliance);
    group.appliances.set(appliance.id, appliance);
    matched.set(appliance.id, matches(appliance, group, needle));
  }
  updateHeader(group);
  return { group, ordered: [...group.appliances.values()].sort(compare), at: 0 };
}

async function load() {
  const result = await api("/api/v1/me/appliances");
  performance.mark("appliances-fetched");
  if (!result.ok) {
    say(result.data?.error?.message ?? "The appliances could not be loaded. Reload the page.", "error");
    return;
  }
  const fragment = document.createDocumentFragment();
  for (const org of result.data.organizations) {
    const group = makeGroup(org);
    backlog.push(fill(group, org.appliances));
    fragment.append(group.body);
  }
  table.append(fragment);
  summarize();
  let first = FIRST_ROWS;
  for (const entry of backlog) first -= appendRows(entry, first);
  // For bench/dashboard.py: the first screenful is in the DOM; the frame after it is painted.
  performance.mark("appliances-loaded");
  requestAnimationFrame(() => setTimeout(() => performance.mark("appliances-painted"), 0));
  setTimeout(drain, 0);
  for (const group of groups.values()) connectLive(group);
  const withConnected = result.data.organizations
    .filter((org) => org.appliances.some((appliance) => appliance.connected))
    .map((org) => org.id);
  loadAdministration(withConnected);
}

// Reconnecting: after 1, 2, 4 … seconds, at most 30.
const sockets = new Map(); // org id -> {socket, retries, lost}

function updateLiveState() {
  const states = [...sockets.values()];
  const lost = states.filter((s) => s.lost).length;
  liveBanner(
    lost
      ? "The live connection to the hub was lost; reconnecting… The list may be out of date meanwhile."
      : "",
  );
  if (states.length && states.every((s) => s.open)) document.body.dataset.live = "open";
  else if (lost) document.body.dataset.live = "reconnecting";
}

function connectLive(group) {
  const state = sockets.get(group.id) ?? { retries: 0, lost: false, open: false };
  sockets.set(group.id, state);
  const socket = new WebSocket(
    `wss://${window.location.host}/api/v1/live?org=${encodeURIComponent(group.id)}`,
  );
  state.socket = socket;
  socket.addEventListener("open", async () => {
    const reconnected = state.lost;
    state.open = true;
    state.retries = 0;
    if (reconnected) {
      // What changed while the socket was down: the organization's list once more.
      const result = await api(`/api/v1/organizations/${group.id}/appliances`);
      if (result.ok) {
        const index = backlog.findIndex((entry) => entry.group === group);
        if (index >= 0) backlog.splice(index, 1);
        appendRows(fill(group, result.data.appliances), Infinity);
        summarize();
      }
    }
    state.lost = false;
    updateLiveState();
  });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "appliance") {
      changedAt.set(message.appliance.id, Date.now());
      upsert(message.appliance, group);
    } else if (message.type === "appliance_removed") {
      drop(group, message.id);
    } else if (message.type === "access_revoked") {
      say(
        message.reason === "organization_deleted"
          ? `${group.name} was deleted.`
          : `You no longer have access to ${group.name}.`,
        "error",
      );
      state.revoked = true;
      group.body.remove();
      groups.delete(group.id);
      orgFilter.querySelector(`option[value="${CSS.escape(group.id)}"]`)?.remove();
      sockets.delete(group.id);
      summarize();
      document.body.dataset.live = "revoked";
    }
  });
  socket.addEventListener("close", (event) => {
    state.open = false;
    // 4401: the session ended (logout elsewhere, password changed, ended in Settings) or ran
    // out; nothing on this page works any more, so go to the login page.
    if (event.code === 4401) {
      document.body.dataset.live = "ended";
      const next = encodeURIComponent(window.location.pathname + window.location.search);
      const expired = event.reason === "session_expired" ? "expired=1&" : "";
      window.location.assign(`/login?${expired}next=${next}`);
      return;
    }
    if (state.revoked || event.code === 4403 || !groups.has(group.id)) return;
    state.lost = true;
    updateLiveState();
    const delay = Math.min(30, 2 ** state.retries) * 1000;
    state.retries += 1;
    setTimeout(() => connectLive(group), delay);
  });
}

search.addEventListener("input", refilter);
statusFilter.addEventListener("change", refilter);
orgFilter.addEventListener("change", refilter);
sortBy.addEventListener("change", resort);
$("list-controls").addEventListener("submit", (event) => event.preventDefault());
$("clear-filters").addEventListener("click", () => {
  search.value = "";
  statusFilter.value = "";
  orgFilter.value = "";
  refilter();
  search.focus();
});
showHub();
load();
