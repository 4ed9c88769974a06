// Shared definitions of one kind (IP addresses, URL groups, time ranges): groups and their
// items, each appliance's sync state with retry, import from an appliance, history and revert.
import { api, clearError, showError } from "./api.js";

const section = document.getElementById("definitions");
const kind = section.dataset.kind;
const org = document.body.dataset.org;
const base = `/api/v1/organizations/${org}/definitions/${kind}`;
const groupsBox = document.getElementById("groups");
const template = document.getElementById("group-template");
const types = section.dataset.entryTypes.split(",");
const STATES = { in_sync: "In sync", pending: "Pending", failed: "Failed", offline: "Offline", not_eligible: "Not shared" };
const HINTS = {
  Host: "10.0.0.1, 2001:db8::1 or host.example.com",
  Network: "192.168.0.0/255.255.255.0",
  Range: "10.0.0.1-10.0.0.99",
  IpPrefix: "2001:db8::/32",
  ChildGroup: "another group's name",
  ThisMachine: "(the firewall's own addresses)",
  Url: "*.example.com/* (no http://)",
  UrlRegex: "a regular expression",
  UrlChildGroup: "another group's name",
  TimeRangeDaily: "Monday,Friday 08:00-17:30",
  TimeRangeWeekly: "Monday 08:00 - Friday 17:00",
  TimeRangeAbsolute: "2026-12-24 00:00 - 2026-12-26 23:59",
};

function time(text) {
  const [hour, min] = text.trim().split(":").map(Number);
  return { hour, min };
}

function date(text) {
  const [year, month, day] = text.trim().split("-").map(Number);
  return { year, month: month - 1, day }; // Kerio's months are 0-11
}

// The typed value of the "Value" field as Kerio's entry fields.
function entryOf(type, value, description) {
  const entry = { type, description };
  const [left, right] = value.split(/\s+-\s+|-(?=[^-]*$)/);
  if (type === "Host" || type === "IpPrefix") entry.host = value.trim();
  else if (type === "Network") [entry.addr1, entry.addr2] = value.split("/").map((s) => s.trim());
  else if (type === "Range") [entry.addr1, entry.addr2] = [left?.trim(), right?.trim()];
  else if (type === "ChildGroup" || type === "UrlChildGroup") entry.childGroupName = value.trim();
  else if (type === "Url") Object.assign(entry, { url: value.trim(), isRegex: false });
  else if (type === "UrlRegex") Object.assign(entry, { type: "Url", url: value.trim(), isRegex: true });
  else if (type === "TimeRangeDaily") {
    const [days, span = "00:00-23:59"] = value.trim().split(/\s+/);
    const [from, to] = span.split("-");
    Object.assign(entry, { days: days.split(","), fromTime: time(from), toTime: time(to) });
  } else if (type === "TimeRangeWeekly") {
    const [from, to] = value.split(/\s+-\s+/);
    const [fromDay, fromTime] = from.trim().split(/\s+/);
    const [toDay, toTime] = (to ?? "").trim().split(/\s+/);
    Object.assign(entry, { fromDay, toDay, fromTime: time(fromTime), toTime: time(toTime) });
  } else if (type === "TimeRangeAbsolute") {
    const [from, to] = value.split(/\s+-\s+/);
    const [fromDate, fromTime] = from.trim().split(/\s+/);
    const [toDate, toTime] = (to ?? "").trim().split(/\s+/);
    Object.assign(entry, {
      fromDate: date(fromDate), toDate: date(toDate), fromTime: time(fromTime), toTime: time(toTime),
    });
  }
  return entry;
}

const pad = (n) => String(n).padStart(2, "0");
const hm = (t) => `${pad(t.hour)}:${pad(t.min)}`;
const ymd = (d) => `${d.year}-${pad(d.month + 1)}-${pad(d.day)}`;

function shown(entry) {
  switch (entry.type) {
    case "Network": return `${entry.addr1}/${entry.addr2}`;
    case "Range": return `${entry.addr1}-${entry.addr2}`;
    case "ChildGroup": case "UrlChildGroup": return `group ${entry.childGroupName}`;
    case "ThisMachine": return "Firewall";
    case "Url": return entry.isRegex ? `regex ${entry.url}` : entry.url;
    case "TimeRangeDaily": return `${entry.days.join(", ")} ${hm(entry.fromTime)}-${hm(entry.toTime)}`;
    case "TimeRangeWeekly": return `${entry.fromDay} ${hm(entry.fromTime)} - ${entry.toDay} ${hm(entry.toTime)}`;
    case "TimeRangeAbsolute": return `${ymd(entry.fromDate)} ${hm(entry.fromTime)} - ${ymd(entry.toDate)} ${hm(entry.toTime)}`;
    default: return entry.host ?? "";
  }
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.append(td);
  return td;
}

function button(label, onClick, className = "link") {
  const b = document.createElement("button");
  b.type = "button";
  b.className = className;
  b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}

async function change(path, options) {
  clearError(section);
  const result = await api(path, options);
  if (!result.ok) showError(section, result);
  await load();
  return result;
}

function showGroup(group) {
  const node = template.content.firstElementChild.cloneNode(true);
  node.dataset.groupId = group.id;
  node.querySelector(".group-name").textContent = group.name;
  node.querySelector(".rename").addEventListener("click", async () => {
    const name = window.prompt("New name", group.name);
    if (name) await change(`${base}/groups/${group.id}`, { method: "PATCH", body: { name } });
  });
  node.querySelector(".delete").addEventListener("click", async () => {
    if (window.confirm(`Delete "${group.name}"?`)) await change(`${base}/groups/${group.id}`, { method: "DELETE" });
  });
  const rows = node.querySelector("tbody");
  group.entries.forEach((entry, index) => {
    const row = document.createElement("tr");
    cell(row, String(index + 1));
    cell(row, entry.type);
    cell(row, shown(entry));
    cell(row, entry.description ?? "");
    cell(row, "").append(button("Remove", () =>
      change(`${base}/groups/${group.id}/entries/${index + 1}`, { method: "DELETE" })));
    rows.append(row);
  });
  const form = node.querySelector(".add-entry");
  const select = form.elements.type;
  for (const type of kind === "url_groups" ? ["Url", "UrlRegex", "UrlChildGroup"] : types) {
    select.append(new Option(type, type));
  }
  const hint = () => { form.elements.value.placeholder = HINTS[select.value] ?? ""; };
  select.addEventListener("change", hint);
  hint();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const entry = entryOf(select.value, form.elements.value.value, form.elements.description.value);
    await change(`${base}/groups/${group.id}/entries`, { method: "POST", body: entry });
  });
  groupsBox.append(node);
}

function showSync(appliances) {
  const body = document.querySelector("#sync tbody");
  body.replaceChildren();
  const picker = document.querySelector("#import select");
  const picked = picker.value;
  picker.replaceChildren();
  for (const a of appliances) {
    const row = document.createElement("tr");
    row.dataset.state = a.state;
    cell(row, a.name);
    cell(row, `${a.product} ${a.product_version}`);
    const detail = a.state === "in_sync" ? ` at version ${a.version}`
      : a.state === "pending" ? ` (version ${a.version})`
      : a.state === "failed" ? `: ${a.error}` : a.reason ? `: ${a.reason}` : "";
    cell(row, `${STATES[a.state] ?? a.state}${detail}`);
    const actions = cell(row, "");
    if (a.state === "failed") {
      actions.append(button("Retry", () => change(`${base}/appliances/${a.appliance_id}/retry`, { method: "POST" })));
    }
    body.append(row);
    if (a.state !== "not_eligible" && a.state !== "offline") picker.append(new Option(a.name, a.appliance_id));
  }
  if (picked) picker.value = picked;
}

async function showHistory() {
  const result = await api(`${base}/history`);
  const body = document.querySelector("#history-table tbody");
  body.replaceChildren();
  for (const v of result.data.versions ?? []) {
    const row = document.createElement("tr");
    cell(row, String(v.version));
    cell(row, new Date(v.at).toLocaleString());
    cell(row, v.actor_email);
    cell(row, v.change);
    cell(row, "").append(button("Revert to this", () =>
      change(`${base}/revert`, { method: "POST", body: { version: v.version } })));
    body.append(row);
  }
}

async function load() {
  const result = await api(base);
  if (!result.ok) {
    showError(section, result);
    return;
  }
  document.getElementById("defs-version").textContent = `Version ${result.data.version}.`;
  groupsBox.replaceChildren();
  result.data.groups.forEach(showGroup);
  showSync(result.data.appliances);
  await showHistory();
}

document.getElementById("add-group").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = event.target.elements.name.value.trim();
  const result = await change(`${base}/groups`, { method: "POST", body: { name } });
  if (result.ok) event.target.reset();
});

const importForm = document.getElementById("import");
const importBox = document.getElementById("import-groups");
document.getElementById("import-load").addEventListener("click", async () => {
  clearError(section);
  const id = importForm.elements.appliance_id.value;
  const result = await api(`${base}/appliances/${id}/local`);
  if (!result.ok) {
    showError(section, result);
    return;
  }
  importBox.querySelectorAll("label").forEach((l) => l.remove());
  for (const group of result.data.groups) {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = "group";
    box.value = group.name;
    label.append(box, ` ${group.name} (${group.entries.length})`);
    importBox.append(label);
  }
  importBox.hidden = false;
  document.getElementById("import-go").hidden = result.data.groups.length === 0;
});
importForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const names = [...importBox.querySelectorAll("input:checked")].map((b) => b.value);
  const body = { appliance_id: importForm.elements.appliance_id.value, names };
  const result = await change(`${base}/import`, { method: "POST", body });
  if (result.ok) importBox.hidden = true;
});

if (org) load();
else document.getElementById("defs-version").textContent = "Create or join an organization first.";
