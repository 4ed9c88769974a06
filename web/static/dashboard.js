// The dashboard shell's script: shows which hub this is and whether it is ready.

async function fetchJson(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await response.json();
  return { ok: response.ok, body };
}

async function showHub() {
  const version = document.getElementById("hub-version");
  const status = document.getElementById("hub-status");
  try {
    const hub = await fetchJson("/api/v1/hub");
    version.textContent = `${hub.body.name} ${hub.body.version}`;
    const ready = await fetchJson("/readyz");
    status.textContent = ready.ok ? "Hub ready" : "Hub not ready";
    status.className = ready.ok ? "ok" : "bad";
  } catch (error) {
    status.textContent = "Hub unreachable";
    status.className = "bad";
  }
}

showHub();
