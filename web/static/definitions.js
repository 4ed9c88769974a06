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

// ---- The time range form: Kerio's three kinds, each with its own fields -----------------------
const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const TIME_LABELS = { TimeRangeDaily: "Daily", TimeRangeWeekly: "Weekly", TimeRangeAbsolute: "Absolute" };

function field(label, input) {
  const wrap = document.createElement("label");
  wrap.append(label, " ", input);
  return wrap;
}

function input(type, name, value = "") {
  const element = document.createElement("input");
  element.type = type;
  element.name = name;
  element.value = value;
  return element;
}

function daySelect(name, value) {
  const select = document.createElement("select");
  select.name = name;
  for (const day of DAYS) select.append(new Option(day, day, false, day === value));
  return select;
}

// The fields of one type of time range, in place of the "Value" field.
function timeFields(type) {
  const box = document.createElement("fieldset");
  box.className = "time-fields filters";
  const legend = document.createElement("legend");
  legend.textContent = TIME_LABELS[type];
  box.append(legend);
  if (type === "TimeRangeDaily") {
    const days = document.createElement("fieldset");
    days.className = "days";
    days.dataset.field = "days";
    const title = document.createElement("legend");
    title.textContent = "Days";
    days.append(title);
    DAYS.forEach((day, index) => {
      const box = input("checkbox", "days", day);
      box.checked = index < 5;
      days.append(field(day.slice(0, 3), box));
    });
    box.append(days, field("From time", input("time", "fromTime", "08:00")),
      field("To time", input("time", "toTime", "17:00")));
  } else if (type === "TimeRangeWeekly") {
    box.append(field("From day", daySelect("fromDay", "Monday")), field("From time", input("time", "fromTime", "08:00")),
      field("To day", daySelect("toDay", "Friday")), field("To time", input("time", "toTime", "17:00")));
  } else {
    box.append(field("From date", input("date", "fromDate")), field("From time", input("time", "fromTime", "00:00")),
      field("To date", input("date", "toDate")), field("To time", input("time", "toTime", "23:59")));
  }
  return box;
}

// The entry the time range form describes, or the name of its first empty field.
function timeEntryOf(form, type) {
  const value = (name) => form.elements[name]?.value ?? "";
  for (const name of ["fromDate", "fromTime", "toDate", "toTime"]) {
    if (form.elements[name] && !value(name)) return { missing: name };
  }
  const entry = { type, description: value("description"), fromTime: time(value("fromTime")), toTime: time(value("toTime")) };
  if (type === "TimeRangeDaily") {
    entry.days = [...form.querySelectorAll('input[name="days"]:checked')].map((b) => b.value);
  } else if (type === "TimeRangeWeekly") {
    Object.assign(entry, { fromDay: value("fromDay"), toDay: value("toDay") });
  } else {
    Object.assign(entry, { fromDate: date(value("fromDate")), toDate: date(value("toDate")) });
  }
  return { entry };
}

const MISSING = { fromDate: "Enter the from date.", toDate: "Enter the to date.", fromTime: "Enter the from time.", toTime: "Enter the to time." };

// The core's message, shown in the form, with the field it names marked.
function showFormProblem(form, message, name) {
  const box = form.querySelector(".error");
  box.textContent = message;
  box.hidden = false;
  const named = name ?? (/must not be after/.test(message) ? "toDate" : /from date/.test(message) ? "fromDate" : /to date/.test(message) ? "toDate"
    : /from time/.test(message) ? "fromTime" : /to time/.test(message) ? "toTime"
    : /day/.test(message) ? "days" : null);
  const target = named === "days" ? form.querySelector(".days") : named ? form.elements[named] : null;
  if (target) {
    target.setAttribute("aria-invalid", "true");
    (target.querySelector?.("input") ?? target).focus();
  }
}

function clearFormProblem(form) {
  const box = form.querySelector(".error");
  box.hidden = true;
  box.textContent = "";
  form.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
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
    cell(row, TIME_LABELS[entry.type] ?? entry.type);
    cell(row, shown(entry));
    cell(row, entry.description ?? "");
    cell(row, "").append(button("Remove", () =>
      change(`${base}/groups/${group.id}/entries/${index + 1}`, { method: "DELETE" })));
    rows.append(row);
  });
  const form = node.querySelector(".add-entry");
  const select = form.elements.type;
  const timed = kind === "time_ranges";
  for (const type of kind === "url_groups" ? ["Url", "UrlRegex", "UrlChildGroup"] : types) {
    select.append(new Option(TIME_LABELS[type] ?? type, type));
  }
  const valueField = form.querySelector(".value-field");
  const hint = () => {
    if (!timed) {
      form.elements.value.placeholder = HINTS[select.value] ?? "";
      return;
    }
    clearFormProblem(form);
    form.querySelector(".time-fields")?.remove();
    valueField.after(timeFields(select.value));
  };
  if (timed) valueField.hidden = true;
  select.addEventListener("change", hint);
  hint();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormProblem(form);
    let entry;
    if (timed) {
      const made = timeEntryOf(form, select.value);
      if (made.missing) {
        showFormProblem(form, MISSING[made.missing], made.missing);
        return;
      }
      entry = made.entry;
    } else {
      entry = entryOf(select.value, form.elements.value.value, form.elements.description.value);
    }
    const path = `${base}/groups/${group.id}/entries`;
    const result = await api(path, { method: "POST", body: entry });
    if (!result.ok) {
      showFormProblem(form, result.data?.error?.message ?? "Something went wrong. Try again.");
      return;
    }
    await load();
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

let shownVersion = null; // the version whose groups are on the page

// The kind's groups (re-drawn only when the version changed, so a half-typed item in another
// group survives a live update), every appliance's sync state and the history.
async function load() {
  const result = await api(base);
  if (!result.ok) {
    showError(section, result);
    return;
  }
  showSync(result.data.appliances);
  if (result.data.version === shownVersion) return;
  shownVersion = result.data.version;
  document.getElementById("defs-version").textContent = `Version ${result.data.version}.`;
  groupsBox.replaceChildren();
  result.data.groups.forEach(showGroup);
  await showHistory();
}

// ---- Live updates: the hub's live socket for the organization --------------------------------
// `definitions` (a new version of a kind), `definitions_sync` (appliances' states of a kind,
// at most 4 a second) and `appliance` (one went on- or offline) each reload what they change,
// at most once per RELOAD_MS.
const RELOAD_MS = 250;
let reloadTimer = null;
let liveRetries = 0;

function reloadSoon() {
  if (reloadTimer !== null) return;
  reloadTimer = setTimeout(async () => {
    reloadTimer = null;
    await load();
    document.body.dataset.defsLoaded = String(Date.now()); // (tests wait for a live reload)
  }, RELOAD_MS);
}

function connectLive() {
  const socket = new WebSocket(`wss://${window.location.host}/api/v1/live?org=${encodeURIComponent(org)}`);
  socket.addEventListener("open", () => {
    if (liveRetries > 0) reloadSoon(); // what changed while it was down
    liveRetries = 0;
    document.body.dataset.live = "open";
  });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    const ours = message.kind === kind;
    if ((message.type === "definitions" || message.type === "definitions_sync") && ours) reloadSoon();
    else if (message.type === "appliance" || message.type === "appliance_removed") reloadSoon();
  });
  socket.addEventListener("close", (event) => {
    document.body.dataset.live = "reconnecting";
    if (event.code === 4401) {
      const next = encodeURIComponent(window.location.pathname);
      window.location.assign(`/login?${event.reason === "session_expired" ? "expired=1&" : ""}next=${next}`);
      return;
    }
    if (event.code === 4403) return; // no longer a member: nothing to update
    const delay = Math.min(30, 2 ** liveRetries) * 1000;
    liveRetries += 1;
    setTimeout(connectLive, delay);
  });
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

if (org) {
  load();
  connectLive();
} else document.getElementById("defs-version").textContent = "Create or join an organization first.";
