// The header: the organization switcher and "Log out".
import { api } from "./api.js";

document.getElementById("logout")?.addEventListener("click", async () => {
  await api("/api/v1/sessions", { method: "DELETE" });
  window.location.assign("/login");
});

// Without "Keep me logged in" the hub ends a session after 15 minutes without requests;
// the page follows suit instead of failing at the next click.
const idleMinutes = Number(document.body.dataset.idleMinutes || 0);
if (idleMinutes > 0) {
  let timer = 0;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => window.location.assign("/login?expired=1"), idleMinutes * 60_000 + 5_000);
  };
  document.addEventListener("mykerio:request", arm);
  arm();
}

document.getElementById("org-switcher")?.addEventListener("change", async (event) => {
  const result = await api("/api/v1/me/organization", {
    method: "PUT",
    body: { org_id: event.target.value },
  });
  if (result.ok) window.location.reload();
});
