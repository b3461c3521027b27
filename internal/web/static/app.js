// wagate dashboard: small comforts on top of forms that work without
// JavaScript. Confirmations, copy buttons, and the QR page's live refresh.
(function () {
  "use strict";

  // Ask before destructive actions: buttons with data-confirm.
  document.addEventListener("submit", function (ev) {
    var btn = ev.submitter || ev.target.querySelector("[data-confirm]");
    var msg = btn && btn.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) {
      ev.preventDefault();
    }
  });

  // Copy buttons: data-copy names the input whose value to copy.
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("[data-copy]");
    if (!btn) return;
    var input = document.getElementById(btn.getAttribute("data-copy"));
    if (!input) return;
    var done = function () {
      var label = btn.textContent;
      btn.textContent = "Copied";
      btn.classList.add("copied");
      setTimeout(function () { btn.textContent = label; btn.classList.remove("copied"); }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () { input.select(); });
    } else {
      input.select();
      try { document.execCommand("copy"); done(); } catch (e) { /* the text stays selected */ }
    }
  });

  // The QR page: poll the link state, swap the code when it rotates, count
  // down, and switch to "linked" when a phone scanned it.
  var box = document.getElementById("qr-box");
  if (!box) return;
  var url = box.getAttribute("data-state-url");
  var img = document.getElementById("qr-image");
  var msg = document.getElementById("qr-message");
  var secs = document.getElementById("qr-seconds");
  var expiry = document.getElementById("qr-expiry");
  var retry = document.getElementById("qr-retry");
  var left = parseInt(secs && secs.textContent, 10) || 0;
  var stopped = false;

  function show(el, on) { if (el) el.hidden = !on; }

  function apply(s) {
    box.setAttribute("data-state", s.state);
    if (s.state === "linked") {
      var acct = document.getElementById("qr-linked-account");
      if (acct && s.phone) {
        acct.textContent = "WhatsApp account +" + s.phone + (s.name ? " (" + s.name + ")" : "") + " is linked to this channel.";
      }
      show(document.getElementById("qr-pending"), false);
      show(document.getElementById("qr-linked"), true);
      stopped = true;
      return;
    }
    if (s.state === "qr" && s.image) {
      if (box.getAttribute("data-code") !== s.code) {
        img.src = s.image;
        box.setAttribute("data-code", s.code);
      }
      show(img, true);
      show(msg, false);
      show(expiry, true);
      show(retry, false);
      left = s.expires || 0;
      if (secs) secs.textContent = left;
      return;
    }
    show(img, false);
    show(expiry, false);
    if (msg) { msg.textContent = s.message || ""; show(msg, true); }
    show(retry, s.state === "timeout" || s.state === "stopped" || s.state === "error");
    if (s.state === "timeout" || s.state === "stopped") stopped = true;
  }

  function poll() {
    if (stopped) return;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (r.redirected) { stopped = true; window.location.reload(); throw new Error("logged out"); }
        return r.json();
      })
      .then(apply)
      .catch(function () { /* try again on the next tick */ })
      .finally(function () { if (!stopped) setTimeout(poll, 1500); });
  }
  setInterval(function () {
    if (left > 0 && secs) { left--; secs.textContent = left; }
  }, 1000);
  if (box.getAttribute("data-state") !== "linked") setTimeout(poll, 1000);
})();
