"""The simulated appliance's MyKerio settings page: its HTML template, script and style sheet.

Laid out like the MyKerio screen of a Kerio admin interface: "Enable communication with
MyKerio", the status text, the "add this appliance" link while waiting to be added, "Remove
from MyKerio" once added; below, the status knobs as checkboxes. The page works from the first
render without the script; the script (served as a file, so the page keeps a strict CSP with no
inline code) sends clicks to the JSON API and refreshes the page from `GET /api/state`. Kept as
strings here so the package needs no data files.
"""

from __future__ import annotations

from tornado.template import Template

from mykerio.protocol.status import KNOB_NAMES, MAJOR_REASONS, MINOR_REASONS

KNOB_LABELS: tuple[tuple[str, str], ...] = tuple(
    (name, {**MAJOR_REASONS, **MINOR_REASONS}[name]) for name in KNOB_NAMES
)

PAGE = Template(
    """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>MyKerio - {{ view.profile.title }}</title>
<link rel="stylesheet" href="/static/settings.css">
<script src="/static/settings.js" defer></script>
</head>
<body>
<header class="topbar">
  <span class="brand">{{ view.profile.title }}</span>
  <span class="host">{{ view.profile.host_name or "" }}</span>
  <span class="version">{{ view.profile.version }}</span>
</header>
<div class="frame">
<nav class="sidebar" aria-label="Configuration">
  <span class="group">Configuration</span>
  <a href="/" aria-current="page">MyKerio</a>
  {% set relay_title = {"operator": "Email service"}.get(view.profile.product, "SMTP Relay") %}
  {% if view.profile.product != "connect" %}<a href="/smtp-relay">{{ relay_title }}</a>
  <span class="group">Logs</span>
  <a href="/debug-log">Debug</a>{% end %}
</nav>
<main>
<h1>MyKerio</h1>
<section class="panel" aria-label="MyKerio settings">
  <p class="intro">MyKerio lets you manage this appliance together with your other Kerio
  appliances from one web interface.</p>
  <label class="check"><input type="checkbox" id="enabled"
    {% if view.enabled %}checked{% end %}> Enable communication with MyKerio</label>
  <label class="check"><input type="checkbox" id="backups"
    {% if backups["enabled"] %}checked{% end %}> Save configuration to MyKerio</label>
  <p class="status"><span class="label">Last backup:</span>
    <span id="backup-state">{{ backups["message"] or backups["state"] }}</span></p>
  <p class="status"><span class="label">Status:</span>
    <span id="status-text" data-phase="{{ view.phase }}">{{ view.status_text }}</span></p>
  <p id="add" {% if not view.add_link %}hidden{% end %}>
    <a id="add-link" class="button" href="{{ view.add_link or '#' }}" target="_blank"
      rel="noopener noreferrer">Add this appliance to MyKerio</a></p>
  <p id="notice" class="notice" {% if not view.notice %}hidden{% end %}>{{ view.notice or "" }}</p>
  <dl id="details" class="details" {% if not view.state.added %}hidden{% end %}>
    <dt>Name in MyKerio</dt><dd id="name">{{ view.state.name or "" }}</dd>
    <dt>Organization</dt><dd id="organization">{{ view.state.organization or "" }}</dd>
    <dt>Appliance ID</dt><dd id="appliance-id">{{ view.state.appliance_id or "" }}</dd>
  </dl>
  <p><button type="button" id="remove" class="danger"
    {% if not view.state.added %}hidden{% end %}>Remove from MyKerio</button></p>
  <p id="error" class="error" role="alert" hidden></p>
</section>
<section class="panel" aria-label="Simulated conditions">
  <h2>Simulated conditions</h2>
  <p class="hint">What this appliance reports to MyKerio in its status.</p>
  {% for name, label in knob_labels %}
  <label class="check"><input type="checkbox" data-knob="{{ name }}"
    {% if getattr(view.knobs, name) %}checked{% end %}> {{ label }}</label>
  {% end %}
</section>
<section class="panel" aria-label="Appliance">
  <h2>Appliance</h2>
  <dl class="details">
    <dt>Product</dt><dd>{{ view.profile.title }} {{ view.profile.version }}</dd>
    {% if view.profile.serial %}<dt>Serial number</dt><dd>{{ view.profile.serial }}</dd>
    <dt>Administrator</dt>
    <dd id="box-admin">{% if view.state.admin %}{{ view.state.admin.username }}{% else %}
      Not set up yet: add this box to MyKerio by its serial number{% end %}</dd>{% end %}
    <dt>Key fingerprint</dt><dd id="key-id">{{ view.public_key_id }}</dd>
  </dl>
</section>
</main>
</div>
</body>
</html>
"""
)

SCRIPT = """// The simulated appliance's MyKerio settings: clicks go to the JSON API,
// and the page follows GET /api/state every two seconds.
const byId = (id) => document.getElementById(id);

function show(element, visible) {
  element.hidden = !visible;
}

function render(state) {
  byId("enabled").checked = state.enabled;
  byId("backups").checked = state.backups.enabled;
  byId("backup-state").textContent = state.backups.message || state.backups.state;
  const status = byId("status-text");
  status.textContent = state.status_text;
  status.dataset.phase = state.phase;
  show(byId("add"), Boolean(state.link));
  byId("add-link").href = state.link || "#";
  byId("notice").textContent = state.notice || "";
  show(byId("notice"), Boolean(state.notice));
  byId("name").textContent = state.name || "";
  byId("organization").textContent = state.organization || "";
  byId("appliance-id").textContent = state.appliance_id || "";
  show(byId("details"), state.added);
  show(byId("remove"), state.added);
  byId("key-id").textContent = state.public_key_id;
  for (const box of document.querySelectorAll("input[data-knob]")) {
    box.checked = Boolean(state.knobs[box.dataset.knob]);
  }
}

async function call(method, path, body) {
  const options = { method, cache: "no-store", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const data = await response.json();
  if (!response.ok) {
    throw new Error(data.error ? data.error.message : response.statusText);
  }
  return data;
}

async function act(path, body) {
  const error = byId("error");
  try {
    render(await call("POST", path, body));
    show(error, false);
  } catch (problem) {
    error.textContent = problem.message;
    show(error, true);
    await refresh();
  }
}

async function refresh() {
  try {
    render(await call("GET", "/api/state"));
  } catch {
    // The appliance may be restarting; the next tick tries again.
  }
}

byId("enabled").addEventListener("change", (event) => {
  act("/api/enable", { enabled: event.target.checked });
});
byId("backups").addEventListener("change", (event) => {
  act("/api/backups", { enabled: event.target.checked });
});
for (const box of document.querySelectorAll("input[data-knob]")) {
  box.addEventListener("change", () => act("/api/knobs", { [box.dataset.knob]: box.checked }));
}
byId("remove").addEventListener("click", () => act("/api/remove", {}));
setInterval(refresh, 2000);
"""

STYLE = """/* A Kerio-like administration frame: dark top bar, a side menu, white panels. */
:root { --brand: #1b6ac9; --ink: #1f2933; --muted: #6b7785; --bad: #d23c3c; --line: #dde3ea; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--ink); background: #f4f6f8; }
.topbar { display: flex; gap: 1.5rem; align-items: center; height: 48px; padding: 0 1.25rem;
          background: #2b3640; color: #fff; }
.brand { font-weight: 700; }
.host, .version { color: #c9d2db; }
.frame { display: flex; min-height: calc(100vh - 48px); }
.sidebar { width: 200px; padding: 1rem; background: #fff; border-right: 1px solid var(--line);
           display: flex; flex-direction: column; gap: .4rem; }
.sidebar .group { color: var(--muted); font-size: .8rem; text-transform: uppercase; }
.sidebar a { color: var(--ink); text-decoration: none; }
.sidebar a[aria-current="page"] { color: var(--brand); font-weight: 600; }
main { flex: 1; max-width: 760px; padding: 1.25rem; }
h1 { font-size: 1.4rem; font-weight: 600; margin: 0 0 1rem; }
h2 { font-size: 1.05rem; margin: 0 0 .5rem; }
.panel { background: #fff; border: 1px solid var(--line); border-radius: 6px;
         padding: 1rem 1.25rem; margin-bottom: 1rem; }
.check { display: block; margin: .35rem 0; }
.status .label { font-weight: 600; }
.details { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
.details dt { color: var(--muted); }
.details dd { margin: 0; word-break: break-all; }
.hint, .intro { color: var(--muted); }
.notice { color: #8a5a00; }
.error { color: var(--bad); }
.ok { color: #1d7a3a; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; font-size: .85rem; }
input[type="text"] { font: inherit; max-width: 100%; }
.button, button { font: inherit; background: var(--brand); color: #fff; border: 0;
         border-radius: 4px; padding: .45rem 1rem; cursor: pointer; text-decoration: none;
         display: inline-block; }
button.danger { background: var(--bad); }
[hidden] { display: none !important; }
@media (max-width: 640px) { .frame { flex-direction: column; }
  .sidebar { width: auto; flex-direction: row; border-right: 0; } }
"""
