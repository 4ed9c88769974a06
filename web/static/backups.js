// The Backups page: the selected organization's backups by appliance; download, delete,
// "Back up now" (one appliance or all), compare two backups of one appliance (a diff of their
// files). Everything comes from the Backups API.
import { api, clearError, showError, showOk } from "./api.js";

const main = document.querySelector("main");
const groups = document.getElementById("backup-groups");
const empty = document.getElementById("backups-empty");
const all = document.getElementById("backup-all");
const org = document.body.dataset.org;
const base = `/api/v1/organizations/${org}/backups`;

const REASONS = { scheduled: "Scheduled", manual: "Back up now", before_change: "Before a change" };
const STATES = { ok: "Backed up", in_progress: "Backing up…", failed: "Backup failed" };

function size(bytes) {
  if (bytes >= 1048576) return `${(bytes / 1048576).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.append(td);
  return td;
}

function button(label, action) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = label;
  element.addEventListener("click", action);
  return element;
}

async function backUpNow(applianceId) {
  clearError(main);
  const result = await api(`${base}/now`, { method: "POST", body: applianceId ? { appliance_id: applianceId } : {} });
  if (!result.ok) return showError(main, result);
  showOk(main.querySelector(".ok"), `Asked ${result.data.asked} appliance(s) for a backup.`);
  setTimeout(load, 2000);
}

async function remove(backup) {
  if (!window.confirm(`Delete the backup ${backup.filename}? This cannot be undone.`)) return;
  const result = await api(`${base}/${backup.id}`, { method: "DELETE" });
  if (!result.ok) return showError(main, result);
  load();
}

// ---- Comparing two backups of one appliance -------------------------------------------------
const CHANGES = { added: "added", removed: "removed", changed: "changed" };

function when(backup) {
  return new Date(backup.stored_at).toLocaleString();
}

function diffBlock(text, path) {
  const pre = document.createElement("pre");
  pre.className = "diff";
  pre.tabIndex = 0; // it scrolls: keyboard users reach it too
  pre.setAttribute("aria-label", `Changes in ${path}`);
  for (const line of text.replace(/\n$/, "").split("\n")) {
    const span = document.createElement("span");
    span.textContent = `${line}\n`;
    if (line.startsWith("+") && !line.startsWith("+++")) span.className = "diff-add";
    else if (line.startsWith("-") && !line.startsWith("---")) span.className = "diff-del";
    else if (line.startsWith("@@")) span.className = "diff-hunk";
    pre.append(span);
  }
  return pre;
}

function showComparison(box, data) {
  box.replaceChildren();
  const summary = document.createElement("p");
  const differ = data.files.length;
  summary.textContent = `${when(data.older)} → ${when(data.newer)}: ${differ} file(s) differ, ${data.unchanged} the same.`;
  box.append(summary);
  for (const file of data.files) {
    const details = document.createElement("details");
    details.open = Boolean(file.diff);
    const title = document.createElement("summary");
    title.textContent = `${file.path} (${CHANGES[file.change] ?? file.change})${file.note ? ` — ${file.note}` : ""}`;
    details.append(title);
    if (file.diff) details.append(diffBlock(file.diff, file.path));
    box.append(details);
  }
  if (data.truncated) {
    box.append(Object.assign(document.createElement("p"), { className: "note", textContent: "The comparison is long; only its first part is shown." }));
  }
}

function compareForm(entry) {
  const form = document.createElement("form");
  form.className = "compare filters";
  const pick = (label, index) => {
    const select = document.createElement("select");
    entry.backups.forEach((backup, i) => select.append(new Option(when(backup), backup.id, false, i === index)));
    const wrap = document.createElement("label");
    wrap.append(label, " ", select);
    return [wrap, select];
  };
  const [olderLabel, older] = pick("Compare", 1);
  const [newerLabel, newer] = pick("with", 0);
  const go = document.createElement("button");
  go.type = "submit";
  go.className = "secondary";
  go.textContent = "Compare";
  const problem = Object.assign(document.createElement("p"), { className: "error", hidden: true });
  problem.setAttribute("role", "alert");
  const box = document.createElement("div");
  box.className = "comparison";
  form.append(olderLabel, newerLabel, go, problem);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError(form);
    const result = await api(`${base}/${older.value}/compare/${newer.value}`);
    if (!result.ok) {
      box.replaceChildren();
      return showError(form, result);
    }
    showComparison(box, result.data);
  });
  return [form, box];
}

// ---- Backup settings: "Save configuration to MyKerio" and the schedule, sent to the appliance --
const SCHEDULES = { 0: "Only on \u201cBack up now\u201d", 6: "Every 6 hours", 12: "Every 12 hours", 24: "Daily", 168: "Weekly" };

function settingsForm(entry) {
  const form = document.createElement("form");
  form.className = "backup-settings filters";
  const enabled = document.createElement("input");
  enabled.type = "checkbox";
  enabled.name = "enabled";
  enabled.checked = entry.settings?.enabled ?? true;
  const onOff = document.createElement("label");
  onOff.className = "switch";
  onOff.append(enabled, " Save configuration to MyKerio");
  const schedule = document.createElement("select");
  schedule.name = "every_hours";
  const current = entry.settings?.every_hours ?? 24;
  for (const [hours, label] of Object.entries(SCHEDULES)) schedule.append(new Option(label, hours, false, Number(hours) === current));
  if (!(current in SCHEDULES)) schedule.append(new Option(`Every ${current} hours`, current, false, true));
  const when = document.createElement("label");
  when.append("Schedule ", schedule);
  const save = document.createElement("button");
  save.type = "submit";
  save.className = "secondary";
  save.textContent = "Save settings";
  const problem = Object.assign(document.createElement("p"), { className: "error", hidden: true });
  problem.setAttribute("role", "alert");
  const done = Object.assign(document.createElement("p"), { className: "ok", hidden: true });
  done.setAttribute("role", "status");
  const unknown = !entry.connected || entry.settings === null;
  for (const control of [enabled, schedule, save]) control.disabled = unknown;
  form.append(onOff, when, save, problem, done);
  if (unknown) {
    form.append(Object.assign(document.createElement("p"), {
      className: "note",
      textContent: entry.connected ? "The appliance has not reported its settings yet." : "The settings can be changed while the appliance is connected.",
    }));
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError(form);
    done.hidden = true;
    const body = { appliance_id: entry.appliance_id, enabled: enabled.checked, every_hours: Number(schedule.value) };
    const result = await api(`${base}/settings`, { method: "PUT", body });
    if (!result.ok) return showError(form, result);
    showOk(done, "Sent to the appliance.");
    setTimeout(load, 1000);
  });
  return form;
}

function group(entry) {
  const section = document.createElement("section");
  section.className = "backup-group";
  section.dataset.appliance = entry.appliance_id;
  const title = document.createElement("h2");
  title.textContent = entry.removed ? `${entry.name} (removed)` : entry.name;
  section.append(title);
  const state = document.createElement("p");
  state.className = "backup-state";
  state.textContent = STATES[entry.state] ?? "";
  if (entry.state === "failed" && entry.state_message) state.textContent += `: ${entry.state_message}`;
  section.append(state);
  if (!entry.removed) {
    const now = button("Back up now", () => backUpNow(entry.appliance_id));
    now.disabled = !entry.connected;
    section.append(now, settingsForm(entry));
  }
  const table = document.createElement("table");
  table.className = "grid";
  table.innerHTML = "<thead><tr><th>Date</th><th>Size</th><th>Product</th><th>Version</th><th>Reason</th><th></th></tr></thead>";
  const body = document.createElement("tbody");
  for (const backup of entry.backups) {
    const row = document.createElement("tr");
    cell(row, new Date(backup.stored_at).toLocaleString());
    cell(row, size(backup.size));
    cell(row, backup.product === "operator" ? "Kerio Operator" : "Kerio Control");
    cell(row, backup.version);
    cell(row, REASONS[backup.reason] ?? backup.reason);
    const actions = cell(row, "");
    const link = document.createElement("a");
    link.href = `${base}/${backup.id}/download`;
    link.textContent = "Download";
    link.setAttribute("download", backup.filename);
    actions.append(link, " ", button("Delete", () => remove(backup)));
    body.append(row);
  }
  table.append(body);
  section.append(entry.backups.length ? table : Object.assign(document.createElement("p"), { textContent: "No backups yet." }));
  if (entry.backups.length >= 2) section.append(...compareForm(entry));
  return section;
}

async function load() {
  const result = await api(base);
  if (!result.ok) return showError(main, result);
  groups.replaceChildren(...result.data.appliances.map(group));
  empty.hidden = result.data.appliances.length > 0;
}

all.addEventListener("click", () => backUpNow(""));
if (org) load();
else empty.hidden = false;
