// The dashboard: which hub this is, whether it is ready, and the live link to the hub for the
// selected organization (access changes arrive at once).

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

function connectLive() {
  const org = document.body.dataset.org;
  if (!org) return;
  const socket = new WebSocket(`wss://${window.location.host}/api/v1/live?org=${encodeURIComponent(org)}`);
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "access_revoked") {
      const switcher = document.getElementById("org-switcher");
      const name = switcher?.selectedOptions[0]?.textContent ?? "this organization";
      const alert = document.getElementById("live-alert");
      alert.textContent =
        message.reason === "organization_deleted"
          ? `${name} was deleted.`
          : `You no longer have access to ${name}.`;
      alert.hidden = false;
      document.body.dataset.live = "revoked";
    }
  });
  socket.addEventListener("open", () => {
    document.body.dataset.live = "open";
  });
}

showHub();
connectLive();
