// "Add new appliance" for a Kerio Control box: find it by serial, set up its administrator,
// accept the terms, name it. The credentials stay in this page until Finish sends them once.
import { api, clearError, formValues, showError } from "./api.js";

const PRODUCTS = { control: "Kerio Control", connect: "Kerio Connect", operator: "Kerio Operator" };
const forms = Object.fromEntries(
  [...document.querySelectorAll("#add-box [data-step]")]
    .filter((el) => el.tagName !== "LI")
    .map((el) => [el.dataset.step, el]),
);
let box = null; // what "Find" returned

function show(step) {
  for (const [name, element] of Object.entries(forms)) element.hidden = name !== step;
  for (const item of document.querySelectorAll(".steps li")) {
    if (item.dataset.step === step) item.setAttribute("aria-current", "step");
    else item.removeAttribute("aria-current");
  }
  const first = forms[step].querySelector("input:not([type=hidden]), button");
  first?.focus();
}

function fail(form, message, field) {
  showError(form, { data: { error: { message, field } } });
}

for (const back of document.querySelectorAll("[data-back]")) {
  back.addEventListener("click", () => show(back.dataset.back));
}

forms.find.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError(forms.find);
  const { serial } = formValues(forms.find);
  const result = await api("/api/v1/appliances/find-box", { method: "POST", body: { serial } });
  if (!result.ok) return showError(forms.find, result);
  if (box?.box !== result.data.box) setupForm.reset(); // credentials go to one box only
  box = result.data;
  const product = PRODUCTS[box.product] ?? box.product;
  const found = `Found: ${product} box ${box.serial}, version ${box.version}, connected from ${box.ip}, key fingerprint ${box.box}. `;
  document.getElementById("box-found").textContent = box.certified
    ? `${found}Its maker's signature confirms that this is the box with this serial number.`
    : `${found}Check that this is your box's address and that the fingerprint is the one on ` +
      "the box's MyKerio settings page before you go on.";
  showAdminChoice();
  forms.name.elements.name.value = box.name_hint || `${product} box`;
  show("setup");
});

const setupForm = forms.setup;
function checkedAdmin() {
  return setupForm.querySelector("input[name=admin]:checked").value;
}
function showAdminChoice() {
  const fresh = checkedAdmin() === "new";
  document.getElementById("new-admin").hidden = !fresh;
  // Password managers fill an existing password, and offer to make up a new one.
  setupForm.elements.password.autocomplete = fresh ? "new-password" : "current-password";
}
setupForm.addEventListener("change", showAdminChoice);
setupForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError(setupForm);
  const values = formValues(setupForm);
  const admin = checkedAdmin();
  if (!values.username.trim()) return fail(setupForm, "Enter the user name.", "username");
  if (!values.password) return fail(setupForm, "Enter the password.", "password");
  if (admin === "new") {
    if (values.password !== values.password2)
      return fail(setupForm, "The passwords do not match.", "password2");
    if (!values.email.includes("@"))
      return fail(setupForm, "Enter the administrator's email address.", "email");
  }
  // Ask the box now, so that wrong credentials are reported here and not at Finish.
  const next = setupForm.querySelector("button[type=submit]");
  next.disabled = true;
  const result = await api("/api/v1/appliances/check-box", {
    method: "POST",
    body: {
      serial: box.serial,
      box: box.box,
      admin,
      username: values.username,
      password: values.password,
    },
  });
  next.disabled = false;
  if (!result.ok) return showError(setupForm, result);
  show("terms");
});

forms.terms.addEventListener("submit", (event) => {
  event.preventDefault();
  clearError(forms.terms);
  if (!forms.terms.elements.eula_accepted.checked) {
    return fail(
      forms.terms,
      "Accept the Privacy Policy and the End User License Agreement.",
      "eula_accepted",
    );
  }
  show("name");
});

forms.name.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError(forms.name);
  const { name, org_id: orgId } = formValues(forms.name);
  const values = formValues(setupForm);
  const admin = checkedAdmin();
  const body = {
    serial: box.serial,
    box: box.box,
    name,
    admin,
    username: values.username,
    password: values.password,
    eula_accepted: true,
  };
  if (admin === "new") Object.assign(body, { email: values.email, statistics: values.statistics });
  const submit = forms.name.querySelector("button[type=submit]");
  submit.disabled = true;
  submit.textContent = "Setting up the box…";
  const result = await api(`/api/v1/organizations/${orgId}/boxes`, { method: "POST", body });
  submit.disabled = false;
  submit.textContent = "Finish";
  if (!result.ok) {
    const field = result.data?.error?.field;
    if (["username", "password", "email", "admin"].includes(field)) {
      show("setup");
      return showError(setupForm, result);
    }
    if (field === "eula_accepted") {
      show("terms");
      return showError(forms.terms, result);
    }
    return showError(forms.name, result);
  }
  for (const input of setupForm.querySelectorAll("input[type=password]")) input.value = "";
  await api("/api/v1/me/organization", { method: "PUT", body: { org_id: orgId } });
  document.getElementById("box-done").textContent =
    `${result.data.name} is added. The box restarts to apply its configuration and shows Up ` +
    "on the dashboard within two minutes.";
  show("done");
});
