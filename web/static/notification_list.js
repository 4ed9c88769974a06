// The Appliances list's "N notifications pending": the appliance's notifications in a dialog,
// each with its severity and age; a member may dismiss one for themselves.
import { api } from "./api.js";
import { say } from "./feedback.js";
import { openModal } from "./modal.js";

const $ = (id) => document.getElementById(id);
const dialog = $("notices");
let current = null; // the appliance shown
let showDismissed = false;

// "3 minutes", "2 hours", "5 days": how long ago `iso` was.
export function age(iso, now = Date.now()) {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  const units = [["day", 86400], ["hour", 3600], ["minute", 60]];
  for (const [unit, size] of units) {
    if (seconds >= size) {
      const n = Math.floor(seconds / size);
      return `${n} ${unit}${n === 1 ? "" : "s"}`;
    }
  }
  return "less than a minute";
}

function item(notice) {
  const li = document.createElement("li");
  li.className = `notice severity-${notice.severity}${notice.dismissed ? " dismissed" : ""}`;
  li.dataset.id = notice.id;
  const head = document.createElement("div");
  head.className = "notice-head";
  const severity = document.createElement("span");
  severity.className = `severity ${notice.severity}`;
  severity.textContent = notice.severity === "error" ? "Error" : "Warning";
  const title = document.createElement("strong");
  title.textContent = notice.title;
  const when = document.createElement("span");
  when.className = "age";
  when.textContent = `${age(notice.raised_at)} ago`;
  when.title = new Date(notice.raised_at).toLocaleString();
  head.append(severity, title, when);
  const text = document.createElement("p");
  text.textContent = notice.text;
  li.append(head, text);
  if (!notice.dismissed) {
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "secondary";
    dismiss.append("Dismiss");
    const hidden = document.createElement("span");
    hidden.className = "sr-only";
    hidden.textContent = ` ${notice.title}`;
    dismiss.append(hidden);
    dismiss.addEventListener("click", () => dismissOne(notice));
    li.append(dismiss);
  }
  return li;
}

async function dismissOne(notice) {
  const path = `/api/v1/organizations/${current.org_id}/appliance-notifications/${encodeURIComponent(notice.id)}/dismiss`;
  const result = await api(path, { method: "POST" });
  if (result.ok) {
    say(`${notice.title} dismissed.`);
    await render();
  }
}

async function render() {
  const result = await api(`/api/v1/organizations/${current.org_id}/appliance-notifications`);
  if (!result.ok) return;
  const rank = (n) => (n.severity === "error" ? 0 : 1);
  const mine = result.data.notifications
    .filter((n) => n.appliance_id === current.id)
    .sort((a, b) => rank(a) - rank(b) || a.raised_at.localeCompare(b.raised_at));
  const dismissed = mine.filter((n) => n.dismissed).length;
  const shown = showDismissed ? mine : mine.filter((n) => !n.dismissed);
  $("notices-list").replaceChildren(...shown.map(item));
  $("notices-empty").hidden = shown.length > 0;
  $("notices-dismissed").hidden = dismissed === 0 || showDismissed;
  $("notices-dismissed").textContent = `${dismissed} dismissed by you.`;
  $("notices-show-all").hidden = dismissed === 0 || showDismissed;
}

$("notices-show-all").addEventListener("click", () => {
  showDismissed = true;
  render();
});

export async function showNotifications(appliance) {
  current = appliance;
  showDismissed = false;
  $("notices-title").textContent = `Notifications of ${appliance.name}`;
  await render();
  if (!dialog.open) openModal(dialog, { focus: $("notices-close") });
}
