// The MyKerio service worker: shows the hub's pushes (appliances online/offline, their
// notifications) and opens the dashboard when one is clicked. It caches nothing: the
// dashboard is live data.
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let message = { title: "MyKerio", body: "", url: "/" };
  try {
    message = { ...message, ...event.data.json() };
  } catch {
    // (not JSON: shown with the default title)
  }
  event.waitUntil(
    self.registration.showNotification(message.title, {
      body: message.body,
      icon: "/static/icon-192.png",
      badge: "/static/icon-192.png",
      data: { url: message.url },
      tag: "mykerio-status",
      renotify: true,
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL(event.notification.data?.url || "/", self.location.origin);
  if (url.origin !== self.location.origin) return; // only the hub's own pages
  event.waitUntil(
    self.clients.matchAll({ type: "window" }).then((windows) => {
      const open = windows.find((w) => new URL(w.url).origin === url.origin);
      return open ? open.focus() : self.clients.openWindow(url.href);
    }),
  );
});
