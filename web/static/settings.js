// Settings: password, 2-step verification, backup codes, backup phone, notifications.
import { api, clearError, formValues, showError, showOk } from "./api.js";
import { watchPassword } from "./rules.js";

const $ = (id) => document.getElementById(id);

// Adding a factor needs the password only when this session has not proved it for 5 minutes:
// the hub then names the password field, and the form shows it.
function showErrorAskingPassword(form, result) {
  if (result.data?.error?.field === "password") {
    form.querySelector(".password-needed").hidden = false;
  }
  showError(form, result);
}

async function load() {
  const result = await api("/api/v1/me");
  if (!result.ok) return;
  const me = result.data;
  Object.assign(profile, { full_name: me.full_name, email: me.email });
  $("two-step-state").textContent = me.two_step
    ? "2-step verification is on."
    : "2-step verification is off.";
  $("totp-on").hidden = !me.two_step;
  $("totp-off").hidden = me.two_step;
  $("totp-form").hidden = true;
  $("backup-codes").hidden = !me.two_step;
  $("phone-section").hidden = !me.two_step;
  $("backup-left").textContent = `${me.backup_codes_left} unused backup codes.`;
  $("phone-state").textContent = me.phone ? `Backup phone: ${me.phone}` : "No backup phone.";
  $("phone-remove-form").hidden = !me.phone;
  $("notifications").checked = me.notifications;
}

$("password-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  clearError(form);
  const result = await api("/api/v1/me/password", { method: "POST", body: formValues(form) });
  if (!result.ok) return showError(form, result);
  form.reset();
  showOk(form.querySelector(".ok"), "Your password was changed. Other sessions were logged out.");
});

$("totp-start-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  clearError(form);
  const result = await api("/api/v1/me/totp/setup", { method: "POST", body: formValues(form) });
  if (!result.ok) return showErrorAskingPassword(form, result);
  form.reset();
  form.querySelector(".password-needed").hidden = true;
  $("totp-qr").innerHTML = result.data.qr_svg; // server-made SVG of the otpauth URI
  $("totp-secret").textContent = result.data.secret;
  $("totp-form").hidden = false;
  $("totp-form").elements.code.focus();
});

$("totp-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  clearError(form);
  const result = await api("/api/v1/me/totp", { method: "POST", body: formValues(form) });
  if (!result.ok) return showError(form, result);
  form.reset();
  await load();
});

$("totp-disable-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  clearError(form);
  const result = await api("/api/v1/me/totp/disable", { method: "POST", body: formValues(form) });
  if (!result.ok) return showError(form, result);
  form.reset();
  $("backup-list").hidden = true;
  await load();
});

$("backup-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  clearError(form);
  const result = await api("/api/v1/me/backup-codes", { method: "POST", body: formValues(form) });
  if (!result.ok) return showError(form, result);
  form.reset();
  const list = $("backup-codes-list");
  list.replaceChildren(
    ...result.data.codes.map((code) => {
      const item = document.createElement("li");
      item.textContent = code;
      return item;
    }),
  );
  const text = `MyKerio backup codes\n\n${result.data.codes.join("\n")}\n`;
  $("backup-save").href = `data:text/plain;charset=utf-8,${encodeURIComponent(text)}`;
  $("backup-list").hidden = false;
  $("backup-left").textContent = `${result.data.codes.length} unused backup codes.`;
});

$("backup-print").addEventListener("click", () => window.print());

$("phone-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  clearError(form);
  const result = await api("/api/v1/me/phone", { method: "POST", body: formValues(form) });
  if (!result.ok) return showErrorAskingPassword(form, result);
  form.elements.password.value = "";
  form.querySelector(".password-needed").hidden = true;
  $("phone-sent").textContent = `We texted a code to ${result.data.sent_to}.`;
  $("phone-verify-form").hidden = false;
  $("phone-verify-form").elements.code.focus();
});

$("phone-verify-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  clearError(form);
  const result = await api("/api/v1/me/phone/verify", { method: "POST", body: formValues(form) });
  if (!result.ok) return showError(form, result);
  form.reset();
  form.hidden = true;
  $("phone-form").reset();
  await load();
});

$("phone-remove-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  clearError(form);
  const result = await api("/api/v1/me/phone/remove", { method: "POST", body: formValues(form) });
  if (!result.ok) return showError(form, result);
  form.reset();
  await load();
});

$("notifications").addEventListener("change", async (event) => {
  const result = await api("/api/v1/me/notifications", {
    method: "PUT",
    body: { enabled: event.target.checked },
  });
  if (result.ok) showOk($("notifications-saved"), "Saved.");
});

// The checklist's "nothing from your name or email" rule needs who you are.
const profile = { full_name: "", email: "" };
watchPassword($("password-form").elements.password, $("rules"), () => profile);

load();
