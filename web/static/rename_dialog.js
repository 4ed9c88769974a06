// The rename dialog shared by the dashboard (appliances) and the Organizations page: a modal
// <dialog> (modal.js) with a labelled field. The hub checks the name; its answer's message is
// shown beside the field and the dialog stays open until the name is accepted.
import { clearError, showError } from "./api.js";
import { openModal } from "./modal.js";

const dialog = document.getElementById("rename-dialog");
const form = document.getElementById("rename-dialog-form");
const input = form.elements.name;
let save = null; // (name) => the API's answer

// Ask for a new name; `onSave(name)` sends it and returns the api() result.
export function askNewName({ title, current, onSave }) {
  save = onSave;
  document.getElementById("rename-title").textContent = title;
  input.value = current;
  openModal(dialog, { focus: input });
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError(form);
  const result = await save(input.value);
  if (!result.ok) return showError(form, { data: { error: { field: "name", ...result.data?.error } } });
  dialog.close();
});

document.getElementById("rename-cancel").addEventListener("click", () => dialog.close());
dialog.addEventListener("close", () => {
  save = null;
});
