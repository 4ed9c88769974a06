// Feedback shared by every page: one place for success and error messages (#messages, under the
// page's title bar), progress on a form's submit button while its requests run (and no second
// submit meanwhile), and the banner for a lost live connection.
import { inFlight } from "./api.js";

const region = () => document.getElementById("messages");

// Remove every earlier message (a new submit starts from a clean page).
export function clearMessages() {
  region()?.replaceChildren();
}

// Show `text` as a success ("ok") or an error ("error"); errors are announced at once.
export function say(text, kind = "ok") {
  const box = region();
  if (!box) return;
  const message = document.createElement("div");
  message.className = `message ${kind}`;
  message.setAttribute("role", kind === "error" ? "alert" : "status");
  const words = document.createElement("span");
  words.textContent = text;
  const close = document.createElement("button");
  close.type = "button";
  close.className = "dismiss";
  close.setAttribute("aria-label", "Dismiss message");
  close.addEventListener("click", () => message.remove());
  message.append(words, close);
  box.replaceChildren(message);
}

// Run `work` with `button` showing progress; a second press meanwhile does nothing.
export async function withProgress(button, work) {
  if (!button) return work();
  if (button.getAttribute("aria-busy") === "true") return undefined;
  button.setAttribute("aria-busy", "true");
  button.disabled = true;
  try {
    return await work();
  } finally {
    button.removeAttribute("aria-busy");
    button.disabled = false;
  }
}

// The lost-connection banner: `text` shows it, "" hides it.
export function liveBanner(text) {
  const banner = document.getElementById("live-banner");
  if (!banner) return;
  banner.textContent = text;
  banner.hidden = !text;
}

// Every form of every page: a submit clears the page's earlier messages, and while the requests
// it started run, its submit buttons show progress and a second submit is dropped. (Registered
// once even if the module is reached by two URLs, e.g. with and without `?v=`.)
if (!window.mykerioFeedback) {
  window.mykerioFeedback = true;
  document.addEventListener(
    "submit",
    (event) => {
      const form = event.target;
      if (!(form instanceof HTMLFormElement) || form.method === "dialog") return;
      if (form.dataset.busy) {
        event.preventDefault();
        event.stopImmediatePropagation();
        return;
      }
      clearMessages();
      form.dataset.busy = "1";
      const buttons = [...form.querySelectorAll('button[type="submit"], button:not([type])')];
      for (const button of buttons) {
        button.setAttribute("aria-busy", "true");
        button.disabled = true;
      }
      // The page's own handler runs after this one and starts its requests at once; the form is
      // free again when none is left.
      const release = () => {
        if (inFlight() > 0) return;
        document.removeEventListener("mykerio:idle", release);
        delete form.dataset.busy;
        for (const button of buttons) {
          button.removeAttribute("aria-busy");
          button.disabled = false;
        }
      };
      setTimeout(() => {
        document.addEventListener("mykerio:idle", release);
        release();
      }, 0);
    },
    true,
  );
}
