// Shared by every page: JSON calls with the page's CSRF token, and form error display.

const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    headers["X-XSRFToken"] = csrfToken;
    headers["Content-Type"] = "application/json";
  }
  document.dispatchEvent(new Event("mykerio:request"));
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  let data = {};
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch {
      data = {};
    }
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
  const box = form.querySelector(".error");
  const message = result?.data?.error?.message ?? "Something went wrong. Try again.";
  if (box) {
    box.textContent = message;
    box.hidden = false;
  }
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  const field = result?.data?.error?.field;
  const input = field ? form.querySelector(`[name="${field}"]`) : null;
  if (input) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
}

export function clearError(form) {
  const box = form.querySelector(".error");
  if (box) box.hidden = true;
}

export function showOk(element, text) {
  element.textContent = text;
  element.hidden = false;
}
