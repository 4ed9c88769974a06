// The organization's webhooks: add (the secret is shown once), "Send test", the last delivery's
// status code, delete.
import { api, clearError, showError } from "./api.js";
import { say } from "./feedback.js";

const $ = (id) => document.getElementById(id);
const orgId = () => document.body.dataset.org;
const FORMATS = { json: "JSON", slack: "Slack", teams: "Teams" };

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function button(label, name, onClick, className = "secondary") {
  const b = document.createElement("button");
  b.type = "button";
  b.className = className;
  b.append(label);
  const hidden = document.createElement("span");
  hidden.className = "sr-only";
  hidden.textContent = ` ${name}`;
  b.append(hidden);
  b.addEventListener("click", onClick);
  return b;
}

function lastDelivery(deliveries) {
  const last = deliveries[0];
  if (!last) return "None yet";
  const when = new Date(last.at).toLocaleString();
  if (last.status === "sent") return `Sent ${when} (${last.response_status})`;
  if (last.status === "failed") return `Failed ${when}: ${last.last_error}`;
  return `Retrying (${last.attempts} tries${last.last_error ? `: ${last.last_error}` : ""})`;
}

async function load() {
  if (!orgId()) return;
  const base = `/api/v1/organizations/${orgId()}/webhooks`;
  const result = await api(base);
  if (!result.ok) return;
  const rows = [];
  for (const hook of result.data.webhooks) {
    const tr = document.createElement("tr");
    tr.dataset.webhook = hook.id;
    const log = await api(`${base}/${hook.id}/deliveries`);
    const events = hook.events
      .map((e) => (e === "status" ? "Online/offline" : `Notifications (${hook.severity_from})`))
      .join(", ");
    const actions = document.createElement("td");
    actions.append(
      button("Send test", hook.name, async () => {
        const sent = await api(`${base}/${hook.id}/test`, { method: "POST" });
        if (sent.ok) say(`Test message queued for ${hook.name}.`, "ok");
        setTimeout(load, 1500);
      }),
      button("Delete", hook.name, async () => {
        if (!window.confirm(`Delete the webhook ${hook.name}?`)) return;
        await api(`${base}/${hook.id}`, { method: "DELETE" });
        await load();
      }),
    );
    tr.append(
      cell(hook.name),
      cell(hook.url),
      cell(FORMATS[hook.format] ?? hook.format),
      cell(events),
      cell(log.ok ? lastDelivery(log.data.deliveries) : ""),
      actions,
    );
    rows.push(tr);
  }
  $("webhooks-list").querySelector("tbody").replaceChildren(...rows);
}

$("webhook-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  clearError(form);
  const values = form.elements;
  const events = ["notification"];
  if (values.status.checked) events.unshift("status");
  const body = {
    name: values.name.value,
    url: values.url.value,
    format: values.format.value,
    severity_from: values.severity_from.value,
    events: values.severity_from.value === "off" ? events.filter((e) => e !== "notification") : events,
  };
  if (body.events.length === 0) body.events = ["status"];
  const result = await api(`/api/v1/organizations/${orgId()}/webhooks`, { method: "POST", body });
  if (!result.ok) return showError(form, result);
  form.reset();
  const secret = $("webhook-secret");
  secret.textContent = `Secret of ${result.data.webhook.name} (shown only now, copy it): ${result.data.secret}`;
  secret.hidden = false;
  await load();
});

load();
