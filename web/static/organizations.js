// Organizations: create, rename, members and invitations, activity, leave and delete; each
// change asked for in a modal dialog (modal.js), its outcome said in the page's message area.
import { api, clearError, showError } from "./api.js";
import { say } from "./feedback.js";
import { dialogForm, openModal } from "./modal.js";
import { askNewName } from "./rename_dialog.js";

const $ = (id) => document.getElementById(id);
const orgId = () => document.body.dataset.org;
let activityCursor = "";
let activityLoads = 0;

// The words for each kind of entry come from the filter's options, which the hub writes.
const ACTIONS = Object.fromEntries(
  [...document.querySelectorAll("#activity-filter [name=action] option")]
    .filter((option) => option.value)
    .map((option) => [option.value, option.textContent]),
);

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function button(label, className, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = className;
  b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}

async function loadOrganization() {
  if (!orgId()) return;
  const result = await api(`/api/v1/organizations/${orgId()}`);
  if (!result.ok) return;
  const org = result.data;
  $("org-panel").hidden = false;
  $("org-name").textContent = org.name;
  const rows = [];
  for (const member of org.members) {
    const row = document.createElement("tr");
    row.append(cell(member.full_name), cell(member.email), cell("Member"));
    const actions = document.createElement("td");
    actions.append(
      button("Remove", "secondary", () => {
        removingMember = member;
        $("remove-member-title").textContent = `Remove ${member.email} from ${org.name}?`;
        const dialog = $("remove-member-dialog");
        openModal(dialog, { focus: dialog.querySelector("[data-close]") });
      }),
    );
    row.append(actions);
    rows.push(row);
  }
  for (const invitation of org.invitations) {
    const row = document.createElement("tr");
    row.dataset.invitation = invitation.email;
    const expires = new Date(invitation.expires_at).toLocaleDateString();
    row.append(cell(""), cell(invitation.email), cell(`Invited, expires ${expires}`));
    const actions = document.createElement("td");
    const base = `/api/v1/organizations/${orgId()}/invitations/${invitation.id}`;
    actions.append(
      button("Resend", "secondary", async () => {
        const sent = await api(`${base}/resend`, { method: "POST", body: {} });
        if (!sent.ok) return say(sent.data?.error?.message ?? "Could not resend.", "error");
        say(`Invitation sent again to ${invitation.email}.`);
        return refresh();
      }),
      document.createTextNode(" "),
      button("Revoke", "secondary", async () => {
        const revoked = await api(base, { method: "DELETE" });
        if (!revoked.ok) return say(revoked.data?.error?.message ?? "Could not revoke.", "error");
        say(`The invitation of ${invitation.email} was revoked.`);
        return refresh();
      }),
    );
    row.append(actions);
    rows.push(row);
  }
  $("members").querySelector("tbody").replaceChildren(...rows);
}

async function loadActivity(append) {
  if (!orgId()) return;
  const params = new URLSearchParams();
  const { action, since, until } = $("activity-filter").elements;
  if (action.value) params.set("action", action.value);
  if (since.value) params.set("since", `${since.value}T00:00:00+00:00`);
  if (until.value) params.set("until", `${until.value}T23:59:59.999+00:00`);
  if (append && activityCursor) params.set("cursor", activityCursor);
  const load = ++activityLoads;
  const filter = $("activity-filter");
  if (!append) clearError(filter);
  $("activity-more").disabled = true;
  const result = await api(`/api/v1/organizations/${orgId()}/activity?${params}`);
  // An answer to an earlier load (a double click, a changed filter) is dropped.
  if (load !== activityLoads) return;
  $("activity-more").disabled = false;
  const body = $("activity").querySelector("tbody");
  if (!result.ok) {
    body.replaceChildren();
    $("activity-more").hidden = true;
    return showError(filter, result);
  }
  if (!append) body.replaceChildren();
  for (const event of result.data.events) {
    const row = document.createElement("tr");
    row.append(
      cell(new Date(event.at).toLocaleString()),
      cell(ACTIONS[event.action] ?? event.action),
      cell(event.actor || "The appliance"),
      cell(event.ip),
      cell(
        event.action === "appliance_connection_replaced"
          ? `${event.target}: ${event.detail}`
          : event.target,
      ),
    );
    body.append(row);
  }
  activityCursor = result.data.next_cursor;
  $("activity-more").hidden = !activityCursor;
}

function refresh() {
  loadOrganization();
  loadActivity(false);
}

let removingMember = null; // the member the removal dialog is about

const createForm = dialogForm($("create-dialog"), {
  check: ({ name }) =>
    name.trim() ? null : { field: "name", message: "Enter a name for the organization." },
  send: async (values) => {
    const result = await api("/api/v1/organizations", { method: "POST", body: values });
    if (result.ok) {
      await api("/api/v1/me/organization", { method: "PUT", body: { org_id: result.data.id } });
    }
    return result;
  },
  // The header's switcher lists the new organization too.
  done: () => window.location.reload(),
});
$("create").addEventListener("click", () => {
  createForm.reset();
  openModal($("create-dialog"));
});

$("rename").addEventListener("click", () => {
  const current = $("org-name").textContent;
  askNewName({
    title: `Rename ${current}`,
    current,
    onSave: async (name) => {
      const result = await api(`/api/v1/organizations/${orgId()}`, {
        method: "PATCH",
        body: { name },
      });
      // The header's switcher shows the name too.
      if (result.ok) window.location.reload();
      return result;
    },
  });
});

const inviteForm = dialogForm($("invite-dialog"), {
  // Only blank is caught here: the hub's own check (and message) decides the rest.
  check: ({ email }) =>
    email.trim() ? null : { field: "email", message: "Enter the email address to invite." },
  send: (values) =>
    api(`/api/v1/organizations/${orgId()}/invitations`, { method: "POST", body: values }),
  done: (result) => {
    say(`Invitation sent to ${result.data.email}.`);
    refresh();
  },
});
$("invite").addEventListener("click", () => {
  inviteForm.reset();
  for (const name of document.querySelectorAll(".org-name-text")) {
    name.textContent = $("org-name").textContent;
  }
  openModal($("invite-dialog"));
});

dialogForm($("remove-member-dialog"), {
  send: () =>
    api(`/api/v1/organizations/${orgId()}/members/${removingMember.user_id}`, {
      method: "DELETE",
    }),
  done: () => {
    say(`${removingMember.email} was removed from ${$("org-name").textContent}.`);
    refresh();
  },
});

$("activity-filter").addEventListener("submit", (event) => {
  event.preventDefault();
  loadActivity(false);
});
$("activity-more").addEventListener("click", () => loadActivity(true));

$("leave").addEventListener("click", async () => {
  const result = await api(`/api/v1/organizations/${orgId()}/leave`, { method: "POST", body: {} });
  if (!result.ok) return say(result.data?.error?.message ?? "Could not leave.", "error");
  window.location.assign("/organizations");
  return undefined;
});

$("delete").addEventListener("click", async () => {
  const summary = await api(`/api/v1/organizations/${orgId()}/deletion`);
  if (!summary.ok) return say(summary.data?.error?.message ?? "Could not delete.", "error");
  const { members, invitations, appliances, backups } = summary.data;
  $("delete-name").textContent = $("org-name").textContent;
  const lost = [
    `${members === 1 ? "1 member's" : `${members} members'`} access to this organization`,
    `${invitations} pending invitation${invitations === 1 ? "" : "s"}`,
    `${appliances} appliance link${appliances === 1 ? "" : "s"} (the appliances keep running, disconnected)`,
    `${backups} configuration backup${backups === 1 ? "" : "s"} stored in MyKerio (removed appliances' too)`,
    "the organization's shared definitions",
  ];
  $("delete-lost").replaceChildren(
    ...lost.map((text) => {
      const item = document.createElement("li");
      item.textContent = text;
      return item;
    }),
  );
  const dialog = $("delete-dialog");
  openModal(dialog, { focus: dialog.querySelector("[data-close]") });
});

dialogForm($("delete-dialog"), {
  send: () => api(`/api/v1/organizations/${orgId()}`, { method: "DELETE" }),
  done: () => window.location.assign("/organizations"),
});

refresh();
