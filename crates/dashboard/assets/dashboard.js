// ledger's dashboard: the live parts. The page is whole without this script; it adds the
// viewer's own zone, countdowns that tick (unless the page shows a fixed ?at= instant), and a
// reload when a new event commits (server-sent events from /live).
"use strict";
(function () {
  var body = document.body;
  var fixed = body.getAttribute("data-fixed") === "true";

  function span(seconds) {
    var minutes = Math.floor(seconds / 60);
    if (minutes === 0) return null;
    var d = Math.floor(minutes / 1440), h = Math.floor(minutes / 60) % 24, m = minutes % 60;
    if (d > 0) return d + " d " + h + " h " + m + " min";
    if (h > 0) return h + " h " + m + " min";
    return m + " min";
  }
  // As crates/dashboard/src/countdown.rs says it.
  function countdown(deadline, now) {
    var seconds = Math.trunc((deadline - now) / 1000);
    var s = span(Math.abs(seconds));
    if (seconds > 0) return s === null ? "in under a minute" : "in " + s;
    return s === null ? "under a minute ago" : s + " ago";
  }

  var yours = { weekday: "short", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short" };
  document.querySelectorAll(".viewer[data-utc]").forEach(function (el) {
    var t = new Date(el.getAttribute("data-utc"));
    if (!isNaN(t)) el.textContent = t.toLocaleString(undefined, yours);
  });
  var zone = document.querySelector(".viewer-zone");
  if (zone) {
    try { zone.textContent = ", yours " + Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { /* old browser */ }
  }

  if (fixed) return;

  // The server's clock, not this device's: a device a few minutes off would otherwise see a
  // deadline crossed that the server does not, and reload for ever.
  var skew = Date.parse(body.getAttribute("data-at")) - Date.now();
  if (isNaN(skew)) skew = 0;
  function tick() {
    var now = Date.now() + skew;
    document.querySelectorAll("td.countdown[data-deadline]").forEach(function (el) {
      var deadline = Date.parse(el.getAttribute("data-deadline"));
      if (isNaN(deadline)) return;
      el.textContent = countdown(deadline, now);
      var row = el.parentElement;
      if (!row) return;
      var was = row.classList.contains("overdue") ? "overdue"
        : row.classList.contains("soon") ? "soon" : "later";
      var is = deadline <= now ? "overdue" : deadline - now <= 24 * 3600 * 1000 ? "soon" : "later";
      // A deadline crossed (now overdue, or now due within 24 h): the server's page has the
      // badges, the counts and the title right.
      if (is !== was) location.reload();
    });
  }
  tick();
  setInterval(tick, 30000);

  if (typeof EventSource === "undefined") return;
  var live = document.getElementById("live");
  var pending = null;
  var source = new EventSource("/live");
  var lost = false;
  source.addEventListener("open", function () {
    if (live) live.hidden = false;
    // Commits while the stream was down were not heard: read the page again.
    if (lost) location.reload();
  });
  source.addEventListener("error", function () {
    if (live) live.hidden = true;
    lost = true;
  });
  source.addEventListener("commit", function () {
    // A burst of commits reloads once.
    if (pending === null) pending = setTimeout(function () { location.reload(); }, 1000);
  });
})();
