// Forgot password: always the same answer.
import { api, clearError, formValues, showError, showOk } from "./api.js";

const form = document.getElementById("forgot-form");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError(form);
  const result = await api("/api/v1/password-resets", { method: "POST", body: formValues(form) });
  if (!result.ok) return showError(form, result);
  form.hidden = true;
  showOk(document.getElementById("forgot-done"), result.data.message);
});
