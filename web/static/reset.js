// Set a new password from a reset link. The page checks the link as it opens, so a used or
// expired one says so (with the way to a new one) instead of refusing only after the form.
import { api, clearError, formValues, showError } from "./api.js";
import { watchPassword } from "./rules.js";

const form = document.getElementById("reset-form");
const status = document.getElementById("reset-status");
watchPassword(form.elements.password, document.getElementById("rules"), () => ({}));
// The token comes in the link's fragment, which never reaches the server's logs.
const token = new URLSearchParams(window.location.hash.slice(1)).get("token") ?? "";

function linkNotValid(result) {
  form.hidden = true;
  status.hidden = true;
  document.getElementById("reset-invalid-message").textContent =
    result.data?.error?.message ?? "This reset link is not valid any more. Ask for a new one.";
  document.getElementById("reset-invalid").hidden = false;
}

const check = await api("/api/v1/password-resets/check", { method: "POST", body: { token } });
if (check.ok) {
  status.hidden = true;
  form.hidden = false;
  form.elements.password.focus();
} else {
  linkNotValid(check);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError(form);
  const body = { ...formValues(form), token };
  const result = await api("/api/v1/password-resets/complete", { method: "POST", body });
  if (!result.ok) {
    // The link may have been used (or replaced) since the page opened: then say so as at open.
    const again = await api("/api/v1/password-resets/check", { method: "POST", body: { token } });
    return again.ok ? showError(form, result) : linkNotValid(again);
  }
  form.hidden = true;
  document.getElementById("reset-done").hidden = false;
});
