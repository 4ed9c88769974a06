// Settings → Notification preferences: per organization its grace before "offline", and per
// organization and appliance which emails reach you; per appliance a maintenance window.
import { api, showOk } from "./api.js";

const $ = (id) => document.getElementById(id);
const THRESHOLDS = [
  ["off", "No notifications"],
  ["warning", "Warnings and errors"],
  ["error", "Errors only"],
];
const WINDOWS = [
  ["", "No maintenance"],
  ["1", "1 hour"],
  ["4", "4 hours"],
  ["24", "24 hours"],
  ["168", "7 days"],
];

function el(tag, text = "", className = "") {
  const node = document.createElement(tag);
  if (text) node.textContent = text;
  if (className) node.className = className;
  return node;
}

// A cell with its column's title, shown where the table is laid out as a list (phones).
function cellWith(title, control) {
  const td = el("td");
  td.append(el("span", title, "cell-label"), control);
  return td;
}

function problem(result) {
  const box = $("prefs-error");
  box.textContent = result.data?.error?.message ?? "Not saved.";
  box.hidden = false;
}

async function saved(result, reload) {
  if (!result.ok) {
    reload?.settled();
    return problem(result);
  }
  $("prefs-error").hidden = true;
  showOk($("prefs-saved"), "Saved.");
  if (reload) await reload();
}

function checkbox(checked, label) {
  const box = el("input");
  box.type = "checkbox";
  box.checked = checked;
  box.setAttribute("aria-label", label);
  return box;
}

function threshold(value, label) {
  const select = el("select");
  select.setAttribute("aria-label", label);
  for (const [option, words] of THRESHOLDS) {
    const node = el("option", words);
    node.value = option;
    node.selected = option === value;
    select.append(node);
  }
  return select;
}

// The four choices of one scope: online/offline and notifications, by email and by push.
function choiceControls(org, scope, choice, label, reload) {
  const status = checkbox(choice.status_email, `Online/offline email for ${label}`);
  const from = threshold(choice.email_from, `Appliance notifications by email for ${label}`);
  const statusPush = checkbox(choice.status_push, `Online/offline push for ${label}`);
  const pushFrom = threshold(choice.push_from, `Appliance notifications by push for ${label}`);
  const send = async () => {
    reload.begin();
    const result = await api(`/api/v1/organizations/${org.id}/notification-preferences`, {
      method: "PUT",
      body: {
        appliance_id: scope,
        status_email: status.checked,
        email_from: from.value,
        status_push: statusPush.checked,
        push_from: pushFrom.value,
      },
    });
    await saved(result, reload);
  };
  for (const control of [status, from, statusPush, pushFrom]) control.addEventListener("change", send);
  return [status, from, statusPush, pushFrom];
}

function maintenanceControl(org, appliance, window, reload) {
  const td = el("td", "", "maintenance");
  td.append(el("span", "Maintenance", "cell-label"));
  const select = el("select");
  select.setAttribute("aria-label", `Maintenance of ${appliance.name}`);
  for (const [hours, words] of WINDOWS) {
    const option = el("option", words);
    option.value = hours;
    select.append(option);
  }
  if (window?.active) {
    const until = new Date(window.until).toLocaleString([], { dateStyle: "short", timeStyle: "short" });
    const option = el("option", `Until ${until}`);
    option.value = "keep";
    option.selected = true;
    select.prepend(option);
  }
  select.addEventListener("change", async () => {
    if (select.value === "keep") return;
    const until = select.value
      ? new Date(Date.now() + Number(select.value) * 3600_000).toISOString()
      : null;
    reload.begin();
    const result = await api(
      `/api/v1/organizations/${org.id}/appliances/${appliance.id}/maintenance`,
      { method: "PUT", body: { until } },
    );
    await saved(result, reload);
  });
  td.append(select);
  return td;
}

async function orgSection(org) {
  const section = el("section", "", "prefs-org");
  section.dataset.org = org.id;
  // A save that changes what the section shows draws it again; until then the section is
  // marked busy (aria-busy), so that assistive technology, and a test, wait for the new one
  // rather than typing into the old one about to be replaced.
  const reload = async () => section.replaceWith(await orgSection(org));
  reload.begin = () => section.setAttribute("aria-busy", "true");
  reload.settled = () => section.removeAttribute("aria-busy");
  const [settings, prefs, appliances] = await Promise.all([
    api(`/api/v1/organizations/${org.id}/notifications`),
    api(`/api/v1/organizations/${org.id}/notification-preferences`),
    api(`/api/v1/organizations/${org.id}/appliances`),
  ]);
  section.append(el("h3", org.name));
  if (settings.ok) {
    const label = el("label", "", "inline");
    const grace = el("input");
    grace.type = "number";
    grace.min = "0";
    grace.max = "30";
    grace.step = "1";
    grace.value = String(settings.data.grace_minutes);
    label.append("Announce an appliance offline after", grace, "minutes");
    grace.addEventListener("change", async () => {
      const result = await api(`/api/v1/organizations/${org.id}/notifications`, {
        method: "PUT",
        body: { grace_minutes: Number(grace.value) },
      });
      await saved(result);
    });
    section.append(label);
  }
  if (!prefs.ok) return section;
  const choices = new Map(prefs.data.choices.map((c) => [c.appliance_id, c]));
  const windows = new Map(prefs.data.maintenance.map((m) => [m.appliance_id, m]));
  const table = el("table", "", "grid prefs");
  const head = el("thead");
  const headRow = el("tr");
  for (const title of ["Appliance", "Online/offline email", "Notifications by email", "Online/offline push", "Notifications by push", "Maintenance"]) {
    headRow.append(el("th", title));
  }
  head.append(headRow);
  const body = el("tbody");
  const orgChoice = choices.get("");
  const all = el("tr");
  all.dataset.scope = "";
  const [status, from, statusPush, pushFrom] = choiceControls(org, "", orgChoice, `all appliances of ${org.name}`, reload);
  all.append(
    el("td", "All appliances"),
    cellWith("Online/offline email", status),
    cellWith("Notifications by email", from),
    cellWith("Online/offline push", statusPush),
    cellWith("Notifications by push", pushFrom),
    el("td", "—"),
  );
  body.append(all);
  for (const appliance of appliances.ok ? appliances.data.appliances : []) {
    const tr = el("tr");
    tr.dataset.scope = appliance.id;
    const choice = choices.get(appliance.id) ?? orgChoice;
    const [s, f, sp, fp] = choiceControls(org, appliance.id, choice, appliance.name, reload);
    tr.append(
      el("td", appliance.name),
      cellWith("Online/offline email", s),
      cellWith("Notifications by email", f),
      cellWith("Online/offline push", sp),
      cellWith("Notifications by push", fp),
      maintenanceControl(org, appliance, windows.get(appliance.id), reload),
    );
    body.append(tr);
  }
  table.append(head, body);
  section.append(table);
  return section;
}

async function load() {
  const result = await api("/api/v1/organizations");
  if (!result.ok) return;
  const sections = [];
  for (const org of result.data.organizations) sections.push(await orgSection(org));
  $("prefs-orgs").replaceChildren(...sections);
}

load();
