// The confirmation link's page: confirms with a POST once the page runs.
import { api } from "./api.js";

const status = document.getElementById("confirm-status");
// The token comes in the link's fragment, which never reaches the server's logs.
const token = new URLSearchParams(window.location.hash.slice(1)).get("token") ?? "";
const result = await api("/api/v1/registrations/confirm", { method: "POST", body: { token } });
status.textContent = result.ok
  ? `Your email ${result.data.email} is confirmed. You can log in now.`
  : result.data?.error?.message ?? "This link is not valid.";
document.getElementById("confirm-next").hidden = false;
