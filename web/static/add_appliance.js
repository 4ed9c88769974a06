// "Add a New Appliance": the code comes in the link's fragment (never sent to the server's logs).
import { api, clearError, formValues, showError } from "./api.js";
import { checkName } from "./names.js";
import { forgetCode, pendingCode } from "./pending_appliance.js";

const PRODUCTS = { control: "Kerio Control", connect: "Kerio Connect", operator: "Kerio Operator" };
// Or, after a login or registration the link led to, the code kept meanwhile.
const code =
  new URLSearchParams(window.location.hash.slice(1)).get("code") || pendingCode();
const about = document.getElementById("add-about");
const form = document.getElementById("add-form");

const preview = await api("/api/v1/appliances/pairing-preview", { method: "POST", body: { code } });
if (!preview.ok) {
  forgetCode();
  about.textContent = preview.data?.error?.message ?? "This link is not valid.";
} else {
  const product = PRODUCTS[preview.data.product] ?? preview.data.product;
  about.textContent = `${product} ${preview.data.version} at ${preview.data.ip} asks to be added.`;
  form.elements.name.value = preview.data.name_hint || product;
  form.hidden = false;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError(form);
  const { name: typed, org_id: orgId } = formValues(form);
  const { name, message } = checkName(typed);
  if (message) return showError(form, { data: { error: { message, field: "name" } } });
  const result = await api(`/api/v1/organizations/${orgId}/appliances`, {
    method: "POST",
    body: { code, name },
  });
  if (!result.ok) return showError(form, result);
  forgetCode();
  await api("/api/v1/me/organization", { method: "PUT", body: { org_id: orgId } });
  window.location.assign("/");
});
