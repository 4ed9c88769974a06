// The invitation page: shows who is invited to what, and accepts it.
// The token comes in the link's fragment; it is kept in this tab's storage across a login.
import { api, showError } from "./api.js";

const section = document.getElementById("invitation");
const fromLink = new URLSearchParams(window.location.hash.slice(1)).get("token");
if (fromLink) sessionStorage.setItem("invitation-token", fromLink);
const token = fromLink ?? sessionStorage.getItem("invitation-token") ?? "";

const preview = await api("/api/v1/invitations/preview", { method: "POST", body: { token } });
const title = document.getElementById("invitation-title");
const text = document.getElementById("invitation-text");
if (!preview.ok) {
  title.textContent = "This invitation is no longer valid";
  text.textContent =
    "It was revoked, has already been accepted, or is older than 7 days. " +
    "Ask the person who invited you to send a new one.";
  sessionStorage.removeItem("invitation-token");
} else {
  title.textContent = `Join ${preview.data.organization}`;
  text.textContent =
    `${preview.data.invited_by} invited ${preview.data.email} to the shared ` +
    `${preview.data.organization} organization.`;
  const loggedIn = section.dataset.loggedIn === "yes";
  document.getElementById("invitation-login").hidden = loggedIn;
  document.getElementById("accept").hidden = !loggedIn;
}

document.getElementById("accept").addEventListener("click", async () => {
  const result = await api("/api/v1/invitations/accept", { method: "POST", body: { token } });
  if (!result.ok) return showError(section, result);
  sessionStorage.removeItem("invitation-token");
  window.location.assign("/organizations");
});
