// Offline drafts: a form marked data-draft that is sent while the device is offline is kept in IndexedDB
// (its fields, photo included) and sent when the connection returns. The form carries its one-time id
// (`once`), so a draft that reached the server before the answer was lost is not recorded twice.
(function () {
  "use strict";
  if (!window.indexedDB || !window.fetch) return;
  var STORE = "drafts";

  function store(mode, work) {
    return new Promise(function (resolve, reject) {
      var opening = indexedDB.open("kinerja-drafts", 1);
      opening.onupgradeneeded = function () { opening.result.createObjectStore(STORE, { keyPath: "once" }); };
      opening.onerror = function () { reject(opening.error); };
      opening.onsuccess = function () {
        var tx = opening.result.transaction(STORE, mode), request = work(tx.objectStore(STORE));
        tx.oncomplete = function () { opening.result.close(); resolve(request && request.result); };
        tx.onerror = function () { opening.result.close(); reject(tx.error); };
      };
    });
  }

  function show(name) {
    document.querySelectorAll("[data-" + name + "]").forEach(function (n) { n.hidden = false; });
  }

  // Offline: keep the form instead of sending it.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.dataset.draft || navigator.onLine || !form.elements.once) return;
    event.preventDefault();
    var fields = [];
    new FormData(form).forEach(function (value, name) { fields.push([name, value]); });
    store("readwrite", function (s) {
      return s.put({ once: form.elements.once.value, action: form.action, fields: fields, kept: Date.now() });
    }).then(function () { show("draft-kept"); });
  }, true);

  // Online: send every kept draft, oldest first; a draft stays kept until the server has answered it.
  var sending = false;
  function sendKept() {
    if (sending || !navigator.onLine) return;
    sending = true;
    var sent = 0, refused = null;
    store("readonly", function (s) { return s.getAll(); }).then(function (drafts) {
      drafts.sort(function (a, b) { return a.kept - b.kept; });
      return drafts.reduce(function (chain, draft) {
        return chain.then(function () {
          var body = new FormData();
          draft.fields.forEach(function (f) {
            if (f[1] instanceof Blob) body.append(f[0], f[1], f[1].name || ""); else body.append(f[0], f[1]);
          });
          return fetch(draft.action, { method: "POST", body: body, credentials: "same-origin" }).then(function (reply) {
            if (reply.redirected && new URL(reply.url).pathname === "/login") return;  // signed out: keep it
            if (reply.status >= 500) return;  // the platform is not answering yet: keep it
            return store("readwrite", function (s) { return s.delete(draft.once); }).then(function () {
              if (reply.ok) { sent += 1; return; }
              return reply.text().then(function (page) { refused = page; });  // shown with its field errors
            });
          });
        });
      }, Promise.resolve());
    }).catch(function () {}).then(function () {
      sending = false;
      if (refused) {
        document.open(); document.write(refused); document.close();
      } else if (sent) {
        sessionStorage.setItem("kinerja-drafts-sent", String(sent));
        location.reload();
      }
    });
  }
  if (sessionStorage.getItem("kinerja-drafts-sent")) {
    sessionStorage.removeItem("kinerja-drafts-sent");
    show("draft-sent");
  }
  window.addEventListener("online", sendKept);
  // A page opened again while still offline (the service worker's copy) says what is still kept here.
  if (!navigator.onLine) {
    store("readonly", function (s) { return s.count(); }).then(function (kept) {
      if (kept) show("draft-kept");
    }).catch(function () {});
  }
  sendKept();
})();
