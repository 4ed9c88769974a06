// The operators' relay blacklist: every blacklisted address, and "Remove" to release one now.
import { api, clearError, showError, showOk } from "./api.js";

const main = document.querySelector("main");
const table = document.getElementById("blacklist-table");
const rows = document.getElementById("blacklist-rows");
const empty = document.getElementById("blacklist-empty");
const base = "/api/v1/operator/relay/blacklist";

function cell(row, label, text) {
  const td = document.createElement("td");
  td.dataset.label = label;
  td.textContent = text;
  row.append(td);
  return td;
}

async function remove(entry) {
  if (!window.confirm(`Remove ${entry.address} from the blacklist? Appliances can mail it again at once.`)) return;
  clearError(main);
  const result = await api(`${base}/${encodeURIComponent(entry.address)}`, { method: "DELETE" });
  if (!result.ok) return showError(main, result);
  showOk(main.querySelector(".ok"), `${entry.address} was removed from the blacklist.`);
  load();
}

function row(entry) {
  const tr = document.createElement("tr");
  cell(tr, "Address", entry.address);
  cell(tr, "Bounces", String(entry.bounces));
  cell(tr, "Last bounce", new Date(entry.last_bounce_at).toLocaleString());
  cell(tr, "Released", new Date(entry.release_at).toLocaleString());
  cell(tr, "Reason", entry.last_reason);
  const actions = cell(tr, "", "");
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = "Remove";
  button.addEventListener("click", () => remove(entry));
  actions.append(button);
  return tr;
}

async function load() {
  const result = await api(base);
  if (!result.ok) return showError(main, result);
  rows.replaceChildren(...result.data.entries.map(row));
  table.hidden = result.data.entries.length === 0;
  empty.hidden = result.data.entries.length > 0;
}

load();
