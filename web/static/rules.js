// The live password checklist: asks the hub which rules a password meets, as the user types.
import { api } from "./api.js";

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
    for (const rule of result.data.rules) {
      const item = list.querySelector(`[data-rule="${rule.rule}"]`);
      if (!item) continue;
      item.classList.toggle("met", rule.met);
      item.classList.toggle("unmet", !rule.met);
      item.setAttribute("aria-label", `${item.textContent}: ${rule.met ? "met" : "not met"}`);
      item.title = rule.message;
    }
  }
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(check, 150);
  });
}
