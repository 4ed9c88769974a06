// Modal dialogs: a native <dialog> opened with showModal() (the page behind is inert), labelled by
// its heading, Escape or Cancel to close, Tab kept inside, and focus back on the control that
// opened it. A dialog's form shows its own errors: inline beside the field, the hub's message in
// the dialog's alert, and the dialog stays open until the hub accepts.
import { clearError, formValues, showError } from "./api.js";
// (feedback.js shows the submit button's progress and drops a second submit meanwhile.)

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';
const openers = new WeakMap(); // dialog -> the element to give focus back to

function keepFocusInside(event) {
  if (event.key !== "Tab") return;
  const dialog = event.currentTarget;
  const items = [...dialog.querySelectorAll(FOCUSABLE)].filter((item) => item.offsetParent !== null);
  if (items.length === 0) return;
  const first = items[0];
  const last = items[items.length - 1];
  if (event.shiftKey && document.activeElement === first) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && document.activeElement === last) {
    event.preventDefault();
    first.focus();
  }
}

function prepare(dialog) {
  if (dialog.dataset.modal) return;
  dialog.dataset.modal = "1";
  dialog.addEventListener("keydown", keepFocusInside);
  for (const cancel of dialog.querySelectorAll("[data-close]")) {
    cancel.addEventListener("click", () => dialog.close("cancel"));
  }
  dialog.addEventListener("close", () => {
    const opener = openers.get(dialog);
    openers.delete(dialog);
    if (opener?.isConnected) opener.focus();
  });
}

// Open `dialog`; focus goes to `focus` (or its first field, or its first button).
export function openModal(dialog, { focus } = {}) {
  prepare(dialog);
  openers.set(dialog, document.activeElement);
  for (const form of dialog.querySelectorAll("form")) clearError(form);
  dialog.showModal();
  const target =
    focus ??
    dialog.querySelector("input:not([type=hidden]), select, textarea") ??
    dialog.querySelector("[autofocus], button:not([data-close])");
  target?.focus();
  if (target instanceof HTMLInputElement && target.type === "text") target.select();
}

// A dialog whose form sends what was typed: `check(values)` returns an error
// ({field, message}) to show without asking the hub, or null; `send(values)` returns the api()
// result. The dialog closes once it is ok, and `done(result)` runs.
export function dialogForm(dialog, { check = () => null, send, done = () => {} }) {
  prepare(dialog);
  const form = dialog.querySelector("form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError(form);
    const values = formValues(form);
    const problem = check(values);
    if (problem) return showError(form, { data: { error: problem } });
    const result = await send(values);
    if (!result.ok) return showError(form, result);
    dialog.close("done");
    return done(result);
  });
  return form;
}
