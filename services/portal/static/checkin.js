// The check-in page: the browser's position fix (with its accuracy) and a photo from the camera at this
// moment, sent with the phone's clock (the server keeps its own time; the phone's is evidence only).
// Without camera access the file field stays, with `capture` so that phones open their camera.
(function () {
  "use strict";
  var form = document.querySelector("form[data-checkin]");
  if (!form) return;
  var status = document.getElementById("location-status");
  var video = document.getElementById("camera"), preview = document.getElementById("photo-preview");
  var shoot = form.querySelector("[data-camera]"), file = document.getElementById("photo");

  function say(message) { status.textContent = message; }

  form.querySelector("[data-locate]").addEventListener("click", function () {
    if (!navigator.geolocation) { say(status.dataset.unsupported); return; }
    say(status.dataset.asking);
    navigator.geolocation.getCurrentPosition(function (position) {
      var c = position.coords;
      document.getElementById("latitude").value = c.latitude;
      document.getElementById("longitude").value = c.longitude;
      document.getElementById("accuracy_m").value = c.accuracy;
      say(status.dataset.taken.replace("%s", Math.round(c.accuracy)));
    }, function () { say(status.dataset.refused); }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 });
  });

  // The camera, when the browser gives it: a live preview, and the frame taken becomes the file to send.
  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.DataTransfer) {
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "user" }, audio: false }).then(function (stream) {
      video.srcObject = stream;
      video.hidden = false;
      shoot.hidden = false;
      video.play();
      shoot.addEventListener("click", function () {
        var canvas = document.createElement("canvas");
        canvas.width = video.videoWidth || 640;
        canvas.height = video.videoHeight || 480;
        canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
        canvas.toBlob(function (blob) {
          var taken = new DataTransfer();
          taken.items.add(new File([blob], "foto.jpg", { type: "image/jpeg" }));
          file.files = taken.files;
          preview.src = URL.createObjectURL(blob);
          preview.hidden = false;
          shoot.dataset.taken = "1";
        }, "image/jpeg", 0.85);
      });
    }).catch(function () { /* no camera access: the file field remains */ });
  }

  form.addEventListener("submit", function () {
    document.getElementById("device_time").value = new Date().toISOString();
  });
})();
