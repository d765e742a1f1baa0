// Light progressive enhancement: every page works without it.
(function () {
  "use strict";
  // A form sends once: its submit button is disabled while the request is under way.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented) return;  // kept as an offline draft instead
    if (form.dataset.sending) { event.preventDefault(); return; }
    form.dataset.sending = "1";
    form.querySelectorAll("button[type=submit]").forEach(function (b) { setTimeout(function () { b.disabled = true; }, 0); });
  });
  // "Tick all" for the bulk decision.
  document.addEventListener("change", function (event) {
    var name = event.target.dataset && event.target.dataset.selectAll;
    if (!name) return;
    document.querySelectorAll("input[type=checkbox][name='" + name + "']").forEach(function (box) { box.checked = event.target.checked; });
  });
  document.addEventListener("click", function (event) {
    if (event.target.matches("[data-print]")) window.print();
  });
  // Offline: show that drafts are kept, and register the service worker that keeps and resends them.
  function showOffline() {
    document.querySelectorAll("[data-offline]").forEach(function (n) { n.hidden = navigator.onLine; });
  }
  window.addEventListener("online", showOffline);
  window.addEventListener("offline", showOffline);
  showOffline();
  // Signed out: the page kept for offline use belongs to the person who left.
  if (!document.body.dataset.signedIn && window.caches) caches.delete("kinerja-pages");
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").catch(function () {});
  }
})();
