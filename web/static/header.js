// The header: the navigation's menu button (narrow screens), the user menu (Settings, Access
// audit, Log out) and the organization switcher of per-organization pages.
import { api } from "./api.js";

// A button that shows and hides the element it controls; Escape or a click elsewhere hides it.
function disclosure(button, { closeOutside = true } = {}) {
  if (!button) return;
  const target = document.getElementById(button.getAttribute("aria-controls"));
  const show = (open) => {
    button.setAttribute("aria-expanded", String(open));
    target.classList.toggle("open", open);
    if (target.id === "user-menu") target.hidden = !open;
  };
  button.addEventListener("click", () => show(button.getAttribute("aria-expanded") !== "true"));
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || button.getAttribute("aria-expanded") !== "true") return;
    if (document.querySelector("dialog[open]")) return; // Escape is the dialog's
    show(false);
    button.focus();
  });
  if (closeOutside) {
    document.addEventListener("click", (event) => {
      if (!button.contains(event.target) && !target.contains(event.target)) show(false);
    });
  }
}

disclosure(document.getElementById("user-menu-button"));
disclosure(document.getElementById("nav-toggle"));

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
