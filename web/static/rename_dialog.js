// The rename dialog shared by the dashboard (appliances) and the Organizations page: a modal
// <dialog> with a labelled field, focus in it, Escape or Cancel to close. The hub checks the
// name; its answer's message is shown beside the field and the dialog stays open until the
// name is accepted.
import { clearError, showError } from "./api.js";

const dialog = document.getElementById("rename-dialog");
const form = document.getElementById("rename-dialog-form");
const input = form.elements.name;
let save = null; // (name) => the API's answer
let opener = null; // the button to give focus back to

// Ask for a new name; `onSave(name)` sends it and returns the api() result.
export function askNewName({ title, current, onSave }) {
  opener = document.activeElement;
  save = onSave;
  document.getElementById("rename-title").textContent = title;
  clearError(form);
  input.removeAttribute("aria-invalid");
  input.value = current;
  dialog.showModal();
  input.focus();
  input.select();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError(form);
  input.removeAttribute("aria-invalid");
  const result = await save(input.value);
  if (!result.ok) return showError(form, { data: { error: { field: "name", ...result.data?.error } } });
  dialog.close();
});

document.getElementById("rename-cancel").addEventListener("click", () => dialog.close());
dialog.addEventListener("close", () => {
  save = null;
  opener?.focus();
});
