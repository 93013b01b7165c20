// camwatch web pages: refresh the figures in place (no reload) and filter the camera wall.
// Served as a file: the Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  var body = document.body;
  var api = body.dataset.api;
  var every = Math.max(2, parseFloat(body.dataset.refresh || "15")) * 1000;
  var offline = document.querySelector(".offline");
  var STATUSES = ["ok", "degraded", "down", "maintenance", "unknown"];
  var timer = null;

  function filters() {
    var c = document.querySelector("[data-filter=commune]");
    var s = document.querySelector("[data-filter=status]");
    if (!c || !s) return;
    var shown = 0;
    document.querySelectorAll(".wall [data-cam]").forEach(function (li) {
      var ok = (!c.value || li.dataset.commune === c.value) && (!s.value || li.dataset.status === s.value);
      li.hidden = !ok;
      if (ok) shown++;
    });
    var empty = document.querySelector(".empty");
    if (empty) empty.hidden = shown > 0;
    var q = new URLSearchParams(location.search);
    [["commune", c.value], ["status", s.value]].forEach(function (kv) {
      if (kv[1]) q.set(kv[0], kv[1]); else q.delete(kv[0]);
    });
    var qs = q.toString();
    history.replaceState(null, "", location.pathname + (qs ? "?" + qs : ""));
  }

  function setText(root, doc) {
    root.querySelectorAll("[data-field]").forEach(function (f) {
      var v = doc[f.dataset.field];
      if (v !== undefined && v !== null) f.textContent = v;
    });
  }

  function picture(el, s) {
    var pic = el.querySelector(".pic");
    if (!pic || !s.src) return;
    var img = pic.querySelector("img");
    if (!img) {
      img = document.createElement("img");
      img.width = 320; img.height = 180; img.alt = el.dataset.cam;
      pic.replaceChildren(img);
    }
    if (img.getAttribute("src") !== s.src) img.src = s.src;
  }

  function update(doc) {
    document.querySelectorAll("[data-count]").forEach(function (el) {
      var v = doc.counts[el.dataset.count];
      if (v !== undefined) el.textContent = v;
    });
    document.querySelectorAll("[data-avail]").forEach(function (el) {
      var v = doc.availability[el.dataset.avail];
      if (v !== undefined) el.textContent = v;
    });
    document.querySelectorAll("td[data-commune]").forEach(function (el) {
      var c = doc.communes[el.dataset.commune];
      if (!c) return;
      var v = c[el.dataset.field];
      el.textContent = v;
      el.classList.toggle("bad", v > 0);
    });
    document.querySelectorAll("[data-cam]").forEach(function (el) {
      var s = doc.cameras[el.dataset.cam];
      if (!s) return;
      STATUSES.forEach(function (st) { el.classList.remove("st-" + st); });
      el.classList.add("st-" + s.status);
      var was = el.dataset.checked;
      el.dataset.status = s.status;
      el.dataset.checked = s.last_check;
      setText(el, s);
      picture(el, s);
      var live = document.querySelector("img[data-live]");
      if (live && was !== undefined && was !== s.last_check) {
        var u = new URL(live.src, location.href);
        u.searchParams.set("t", s.last_check);
        live.src = u.pathname + u.search;
      }
    });
    var up = document.querySelector("[data-updated]");
    if (up) up.textContent = doc.updated;
    filters();
    offline.hidden = true;
    body.classList.remove("stale");
  }

  function poll() {
    timer = null;
    fetch(api, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(update)
      .catch(function () { offline.hidden = false; body.classList.add("stale"); })
      .finally(function () { if (!document.hidden) timer = setTimeout(poll, every); });
  }

  document.querySelectorAll("[data-filter]").forEach(function (sel) { sel.addEventListener("change", filters); });
  var button = document.querySelector(".filters button");
  if (button) button.hidden = true;  // the selects filter at once; without the script the button submits
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && timer === null) poll();
  });
  if (api) timer = setTimeout(poll, every);
})();
