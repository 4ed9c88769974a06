// The live password checklist: asks the hub which rules a password meets, as the user types.
import { api } from "./api.js";

// Mark one rule on the checklist (from the live check, or from a refused submit).
export function markRule(list, rule, met, message) {
  const item = list.querySelector(`[data-rule="${rule}"]`);
  if (!item) return;
  item.classList.toggle("met", met);
  item.classList.toggle("unmet", !met);
  item.setAttribute("aria-label", `${item.textContent}: ${met ? "met" : "not met"}`);
  item.title = message;
}

export function watchPassword(input, list, context) {
  let timer = 0;
  let latest = 0;
  async function check() {
    const ticket = ++latest;
    const { full_name = "", email = "" } = context();
    const result = await api("/api/v1/password-rules", {
      method: "POST",
      body: { password: input.value, full_name, email },
    });
    if (ticket !== latest || !result.ok) return;
    for (const rule of result.data.rules) markRule(list, rule.rule, rule.met, rule.message);
  }
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(check, 150);
  });
}
