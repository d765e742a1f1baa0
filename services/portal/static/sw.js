// The portal's service worker: pages and assets from the network, the last copy when offline. The work
// page is kept too, so that a phone that lost its connection can still open it and keep a draft
// (static/drafts.js sends the draft when the connection returns); signing out forgets the kept page.
const CACHE = "kinerja-v2";
const PAGES = "kinerja-pages";
const OFFLINE_PAGES = ["/work"];
self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(
    ["/static/portal.css", "/static/portal.js", "/static/drafts.js", "/static/icon.svg"])));
  self.skipWaiting();
});
self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((names) => Promise.all(
    names.filter((n) => n !== CACHE && n !== PAGES).map((n) => caches.delete(n)))).then(() => self.clients.claim()));
});
self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  const page = request.mode === "navigate" && OFFLINE_PAGES.includes(url.pathname);
  event.respondWith(fetch(request).then((response) => {
    if (response.ok && (page || url.pathname.startsWith("/static/"))) {
      const copy = response.clone();
      caches.open(page ? PAGES : CACHE).then((c) => c.put(page ? url.pathname : request, copy));
    }
    return response;
  }).catch(() => caches.match(page ? url.pathname : request)));
});
