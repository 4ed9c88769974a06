// Set a new password from a reset link.
import { api, clearError, formValues, showError } from "./api.js";
import { watchPassword } from "./rules.js";

const form = document.getElementById("reset-form");
watchPassword(form.elements.password, document.getElementById("rules"), () => ({}));
// The token comes in the link's fragment, which never reaches the server's logs.
const token = new URLSearchParams(window.location.hash.slice(1)).get("token") ?? "";
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError(form);
  const body = { ...formValues(form), token };
  const result = await api("/api/v1/password-resets/complete", { method: "POST", body });
  if (!result.ok) return showError(form, result);
  form.hidden = true;
  document.getElementById("reset-done").hidden = false;
});
