// The invitation page: shows who is invited to what, and accepts it.
// The token comes in the link's fragment; it is kept in this tab's storage across a login.
// The page checks the invitation as it opens and offers "Accept invitation" only when it can
// work: still valid, and sent to the address of the account that is logged in.
import { api } from "./api.js";

const section = document.getElementById("invitation");
const fromLink = new URLSearchParams(window.location.hash.slice(1)).get("token");
if (fromLink) sessionStorage.setItem("invitation-token", fromLink);
const token = fromLink ?? sessionStorage.getItem("invitation-token") ?? "";
const title = document.getElementById("invitation-title");
const text = document.getElementById("invitation-text");
const accept = document.getElementById("accept");

function noLongerValid() {
  title.textContent = "This invitation is no longer valid";
  text.textContent =
    "It was revoked, has already been accepted, or is older than 7 days. " +
    "Ask the person who invited you to send a new one.";
  sessionStorage.removeItem("invitation-token");
  accept.hidden = true;
  document.getElementById("invitation-login").hidden = true;
}

function forAnotherAccount(invitation) {
  title.textContent = "This invitation is for another account";
  text.textContent =
    `${invitation.invited_by} invited ${invitation.email} to the shared ` +
    `${invitation.organization} organization, but you are logged in as ` +
    `${invitation.logged_in_as}. Log out and log in as ${invitation.email} to accept it, ` +
    `or ask ${invitation.invited_by} to invite ${invitation.logged_in_as}.`;
  accept.hidden = true;
}

const preview = await api("/api/v1/invitations/preview", { method: "POST", body: { token } });
if (!preview.ok) {
  noLongerValid();
} else if (preview.data.for_this_account === false) {
  forAnotherAccount(preview.data);
} else {
  title.textContent = `Join ${preview.data.organization}`;
  text.textContent =
    `${preview.data.invited_by} invited ${preview.data.email} to the shared ` +
    `${preview.data.organization} organization.`;
  const loggedIn = section.dataset.loggedIn === "yes";
  document.getElementById("invitation-login").hidden = loggedIn;
  accept.hidden = !loggedIn;
}

accept.addEventListener("click", async () => {
  const result = await api("/api/v1/invitations/accept", { method: "POST", body: { token } });
  if (result.ok) {
    sessionStorage.removeItem("invitation-token");
    window.location.assign("/organizations");
    return;
  }
  // Revoked or accepted since the page opened: say so as at open, without the button.
  const again = await api("/api/v1/invitations/preview", { method: "POST", body: { token } });
  if (!again.ok) return noLongerValid();
  if (again.data.for_this_account === false) return forAnotherAccount(again.data);
  const box = section.querySelector(".error");
  box.textContent = result.data?.error?.message ?? "Something went wrong. Try again.";
  box.hidden = false;
});
