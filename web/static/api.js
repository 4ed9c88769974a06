// Shared by every page: JSON calls with the page's CSRF token, and form error display.
// (feedback.js also gives every page its submit progress and double-submit guard.)
import { say } from "./feedback.js";

const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
let pending = 0; // requests not answered yet

// How many requests are waiting for their answer ("mykerio:idle" fires when none is left).
export function inFlight() {
  return pending;
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    headers["X-XSRFToken"] = csrfToken;
    headers["Content-Type"] = "application/json";
  }
  document.dispatchEvent(new Event("mykerio:request"));
  pending += 1;
  let response;
  let data = {};
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    if (response.status !== 204) {
      try {
        data = await response.json();
      } catch {
        data = {};
      }
    }
  } catch {
    // The hub could not be reached: answered like a server error, with words for people.
    return { ok: false, status: 0, data: { error: { message: "The hub cannot be reached. Check your connection and try again." } } };
  } finally {
    pending -= 1;
    if (pending === 0) setTimeout(() => document.dispatchEvent(new Event("mykerio:idle")), 0);
  }
  if (response.status === 401 && data.error?.code === "session_expired") {
    window.location.assign("/login?expired=1");
  }
  return { ok: response.ok, status: response.status, data };
}

export function formValues(form) {
  const values = {};
  for (const element of form.elements) {
    if (!element.name) continue;
    values[element.name] = element.type === "checkbox" ? element.checked : element.value;
  }
  return values;
}

export function showError(form, result) {
  clearError(form);
  const box = form.querySelector(".error");
  const message = result?.data?.error?.message ?? "Something went wrong. Try again.";
  if (box) {
    box.textContent = message;
    box.hidden = false;
  }
  const field = result?.data?.error?.field;
  const input = field ? form.querySelector(`[name="${field}"]`) : null;
  if (input) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
}

// Every earlier message of a form goes when it is submitted again: its error, its success
// note and the marks on its fields, so an old red error never stands beside a new result.
export function clearError(form) {
  for (const box of form.querySelectorAll(".error, .ok")) box.hidden = true;
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

// A success goes to the page's one message area (#messages, under its title bar), as every
// page's successes do; `element` (the form's own note) is used only on a page without one.
export function showOk(element, text) {
  const form = element.closest("form, section");
  if (form) clearError(form);
  if (document.getElementById("messages")) {
    say(text, "ok");
    return;
  }
  element.textContent = text;
  element.hidden = false;
}

// Forms whose script forgets to clear are covered too: the capture phase runs before any
// page's own submit handler.
document.addEventListener("submit", (event) => clearError(event.target), true);
