// Settings > Sessions: where the user is logged in, and ending any or all of the others.
import { api } from "./api.js";

const list = document.getElementById("sessions-list");
const error = document.getElementById("sessions-error");
const ok = document.getElementById("sessions-ok");
const endOthers = document.getElementById("sessions-end-others");
const when = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function say(element, text) {
  error.hidden = true;
  ok.hidden = true;
  element.textContent = text;
  element.hidden = false;
}

function item(session) {
  const li = document.createElement("li");
  li.dataset.session = session.id;
  const device = document.createElement("span");
  device.className = "device";
  device.textContent = session.device;
  li.append(device);
  if (session.current) {
    const mark = document.createElement("span");
    mark.className = "this";
    mark.textContent = "This session";
    li.append(mark);
  } else {
    const end = document.createElement("button");
    end.type = "button";
    end.className = "secondary";
    end.textContent = "End session";
    end.setAttribute("aria-label", `End session on ${session.device}, ${session.ip}`);
    end.addEventListener("click", () => endOne(session));
    li.append(end);
  }
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent =
    `${session.ip || "Unknown address"} · last active ${when.format(new Date(session.last_seen))}` +
    ` · logged in ${when.format(new Date(session.created_at))}`;
  li.append(meta);
  return li;
}

async function load() {
  const result = await api("/api/v1/me/sessions");
  if (!result.ok) return say(error, result.data.error?.message ?? "The sessions could not be loaded.");
  const sessions = result.data.sessions;
  list.replaceChildren(...sessions.map(item));
  endOthers.hidden = !sessions.some((session) => !session.current);
}

async function endOne(session) {
  const result = await api(`/api/v1/me/sessions/${session.id}`, { method: "DELETE" });
  if (!result.ok && result.status !== 404) {
    return say(error, result.data.error?.message ?? "Something went wrong. Try again.");
  }
  await load();
  say(ok, `The session on ${session.device} was ended.`);
}

endOthers.addEventListener("click", async () => {
  const result = await api("/api/v1/me/sessions", { method: "DELETE" });
  if (!result.ok) return say(error, result.data.error?.message ?? "Something went wrong. Try again.");
  await load();
  const ended = result.data.ended;
  say(ok, ended === 1 ? "1 other session was ended." : `${ended} other sessions were ended.`);
});

load();
