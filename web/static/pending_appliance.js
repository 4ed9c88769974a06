// The "add this appliance" code while its user logs in, registers or confirms their email.
// The code comes in the link's fragment, which the server never sees (so a redirect to the
// login page cannot carry it in `next`); it is kept in this browser's local storage, so the
// confirmation link may open in another tab, for at most an hour (the hub expires a code after
// 15 minutes and the add page says so), and is forgotten once the add page has used it.

const KEY = "pending-appliance-code";
const KEEP_MS = 60 * 60 * 1000;
export const ADD_PATH = "/appliances/add";

// Keep the code of the current URL's fragment (`#code=…`), if it has one.
export function keepCodeFromLink() {
  const code = new URLSearchParams(window.location.hash.slice(1)).get("code");
  if (code) localStorage.setItem(KEY, JSON.stringify({ code, at: Date.now() }));
  return code ?? "";
}

// The code kept earlier and still fresh, or "".
export function pendingCode() {
  try {
    const { code, at } = JSON.parse(localStorage.getItem(KEY) ?? "{}");
    if (typeof code === "string" && code && Date.now() - at < KEEP_MS) return code;
  } catch {
    // An unreadable entry is as good as none.
  }
  localStorage.removeItem(KEY);
  return "";
}

export function forgetCode() {
  localStorage.removeItem(KEY);
}
