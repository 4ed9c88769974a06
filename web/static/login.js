// Login: email and password, then (if enabled) the second factor.
import { api, clearError, formValues, showError, showOk } from "./api.js";
import { ADD_PATH, keepCodeFromLink, pendingCode } from "./pending_appliance.js";

const loginForm = document.getElementById("login-form");
const codeForm = document.getElementById("code-form");
const resendForm = document.getElementById("resend-form");
const next = loginForm.dataset.next || "/";

// An "add this appliance" link sent a logged-out browser here with its code in the fragment;
// the code waits through login (or registration and confirmation) for the add page.
if (next === ADD_PATH) keepCodeFromLink();
const addingAppliance = (next === "/" || next === ADD_PATH) && Boolean(pendingCode());
document.getElementById("pending-appliance").hidden = !addingAppliance;

function loggedIn() {
  window.location.assign(addingAppliance ? ADD_PATH : next);
}

loginForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError(loginForm);
  const values = formValues(loginForm);
  const result = await api("/api/v1/sessions", { method: "POST", body: values });
  if (!result.ok) {
    showError(loginForm, result);
    resendForm.hidden = result.data?.error?.code !== "email_not_confirmed";
    return;
  }
  if (result.data.status === "logged_in") return loggedIn();
  loginForm.hidden = true;
  codeForm.hidden = false;
  document.getElementById("sms-option").hidden = !result.data.methods.includes("sms");
  codeForm.elements.code.focus();
});

function useMethod(method, label, help) {
  codeForm.elements.method.value = method;
  document.getElementById("code-label").textContent = label;
  document.getElementById("code-help").textContent = help;
  codeForm.elements.code.value = "";
  codeForm.elements.code.focus();
}

document.getElementById("use-backup").addEventListener("click", () =>
  useMethod("backup", "Backup code", "Enter one of your backup codes. Each works once."),
);

document.getElementById("use-sms").addEventListener("click", async () => {
  const status = document.getElementById("sms-status");
  const result = await api("/api/v1/sessions/sms", { method: "POST", body: {} });
  if (!result.ok) return showError(codeForm, result);
  showOk(status, `Code sent to ${result.data.sent_to}.`);
  useMethod("sms", "SMS code", "Enter the 6-digit code we texted you.");
});

codeForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError(codeForm);
  const result = await api("/api/v1/sessions/second-factor", {
    method: "POST",
    body: { method: codeForm.elements.method.value, code: codeForm.elements.code.value },
  });
  if (result.ok) return loggedIn();
  showError(codeForm, result);
  if (result.data?.error?.code === "login_expired") {
    codeForm.hidden = true;
    loginForm.hidden = false;
    showError(loginForm, result);
  }
});

resendForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const result = await api("/api/v1/registrations/resend", {
    method: "POST",
    body: { email: loginForm.elements.email.value },
  });
  showOk(resendForm.querySelector(".ok"), result.data.message ?? "Sent.");
});
