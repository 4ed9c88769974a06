// Registration with the live password checklist.
import { api, clearError, formValues, showError } from "./api.js";
import { pendingCode } from "./pending_appliance.js";
import { markRule, watchPassword } from "./rules.js";

const form = document.getElementById("register-form");
document.getElementById("pending-appliance").hidden = !pendingCode();
watchPassword(form.elements.password, document.getElementById("rules"), () => ({
  full_name: form.elements.full_name.value,
  email: form.elements.email.value,
}));

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError(form);
  const result = await api("/api/v1/registrations", { method: "POST", body: formValues(form) });
  if (!result.ok) {
    // A refused password marks its rule on the checklist too, even before the live check ran.
    const error = result.data?.error;
    if (error?.field === "password" && error.rule) {
      markRule(document.getElementById("rules"), error.rule, false, error.message);
    }
    return showError(form, result);
  }
  form.hidden = true;
  document.getElementById("registered").hidden = false;
  document.getElementById("registered-message").textContent = result.data.message;
});
