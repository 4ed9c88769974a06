// Settings → "Notify this device": registers the service worker, subscribes this browser to
// Web Push with the hub's VAPID key, and hands the subscription to the hub.
import { api } from "./api.js";
import { say } from "./feedback.js";

const $ = (id) => document.getElementById(id);
const state = $("push-state");

function keyBytes(base64url) {
  const text = atob(base64url.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

function show(words, { on = false, off = false } = {}) {
  state.textContent = words;
  $("push-on").hidden = !on;
  $("push-off").hidden = !off;
  $("push-test").hidden = !off;
}

async function current() {
  const registration = await navigator.serviceWorker.register("/sw.js");
  return { registration, subscription: await registration.pushManager.getSubscription() };
}

async function refresh() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
    show("This browser cannot get push notifications (on an iPhone: add MyKerio to the Home Screen first).");
    return;
  }
  try {
    const { subscription } = await current();
    if (subscription) show("This device gets push notifications.", { off: true });
    else show("This device gets no push notifications.", { on: true });
  } catch {
    show("Push notifications are not available here.");
  }
}

$("push-on").addEventListener("click", async () => {
  const key = await api("/api/v1/push/key");
  if (!key.ok) return;
  try {
    if ((await Notification.requestPermission()) !== "granted") {
      show("Notifications are blocked for MyKerio in this browser's settings.", { on: true });
      return;
    }
    const { registration } = await current();
    const subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: keyBytes(key.data.public_key),
    });
    const saved = await api("/api/v1/me/push-subscriptions", {
      method: "POST",
      body: subscription.toJSON(),
    });
    if (saved.ok) say("This device will be notified.", "ok");
  } catch {
    say("This browser could not subscribe to push notifications.", "error");
  }
  await refresh();
});

$("push-off").addEventListener("click", async () => {
  const { subscription } = await current();
  if (subscription) {
    await api("/api/v1/me/push-subscriptions/remove", {
      method: "POST",
      body: { endpoint: subscription.endpoint },
    });
    await subscription.unsubscribe();
  }
  await refresh();
});

$("push-test").addEventListener("click", async () => {
  const result = await api("/api/v1/me/push-subscriptions/test", { method: "POST" });
  if (result.ok) say(`Test notification sent to ${result.data.sent} device(s).`, "ok");
});

refresh();
