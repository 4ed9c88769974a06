// The Notification relay page: each appliance of the selected organization — emails in the
// current window (n / 100), when it resets, refusals by reason, blacklisted recipients.
import { api, showError } from "./api.js";

const main = document.querySelector("main");
const table = document.getElementById("relay-table");
const rows = document.getElementById("relay-rows");
const empty = document.getElementById("relay-empty");
const org = document.body.dataset.org;

const REASONS = {
  quota: "quota exhausted",
  blacklisted: "blacklisted recipient",
  bounced: "too many bounced emails",
  format: "address not valid",
};

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

function cell(row, label, content) {
  const td = document.createElement("td");
  td.dataset.label = label;
  if (typeof content === "string") td.textContent = content;
  else td.append(content);
  row.append(td);
  return td;
}

function refusals(refused) {
  const parts = Object.entries(REASONS)
    .filter(([reason]) => refused[reason] > 0)
    .map(([reason, label]) => `${refused[reason]} ${label}`);
  return parts.length ? parts.join(", ") : "none";
}

function blacklisted(entry) {
  if (!entry.blacklisted.length) return "none";
  const list = document.createElement("ul");
  list.className = "plain";
  for (const recipient of entry.blacklisted) {
    const item = document.createElement("li");
    item.textContent = `${recipient.address} (until ${when(recipient.release_at)})`;
    list.append(item);
  }
  return list;
}

function row(entry) {
  const tr = document.createElement("tr");
  tr.dataset.appliance = entry.appliance_id;
  const name = entry.product === "operator" ? "Kerio Operator" : "Kerio Control";
  cell(tr, "Appliance", `${entry.name} (${name})`);
  const sent = cell(tr, "Sent in 24 hours", `${entry.sent} / ${entry.limit}`);
  sent.className = entry.sent >= entry.limit ? "relay-sent warning" : "relay-sent";
  cell(tr, "Window resets", when(entry.resets_at));
  const refused = cell(tr, "Refused", refusals(entry.refused));
  if (entry.refused_altogether) refused.textContent += " — not allowed to send emails due to too many bounced emails";
  cell(tr, "Blacklisted recipients", blacklisted(entry));
  return tr;
}

async function load() {
  const result = await api(`/api/v1/organizations/${org}/relay`);
  if (!result.ok) return showError(main, result);
  rows.replaceChildren(...result.data.appliances.map(row));
  table.hidden = result.data.appliances.length === 0;
  empty.hidden = result.data.appliances.length > 0;
}

if (org) load();
else empty.hidden = false;
