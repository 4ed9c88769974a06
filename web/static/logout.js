// The header's "Log out" button.
import { api } from "./api.js";

document.getElementById("logout")?.addEventListener("click", async () => {
  await api("/api/v1/sessions", { method: "DELETE" });
  window.location.assign("/login");
});
