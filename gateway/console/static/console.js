// Q2C operations console: refreshes the queue's counts per team without a reload.
// Plain JavaScript, no framework; the page works the same without it (the counts are
// rendered by the server and refreshed with the page).
"use strict";

(function () {
  var region = document.querySelector("[data-counts-url]");
  if (!region || !window.fetch) return;
  var url = region.getAttribute("data-counts-url");
  var seconds = parseInt(region.getAttribute("data-refresh-seconds"), 10);
  if (!url || !(seconds > 0)) return;
  var updated = region.querySelector("[data-updated]");
  var timer = null;

  function show(body) {
    var teams = body.teams || {};
    region.querySelectorAll(".count[data-team]").forEach(function (node) {
      var team = node.getAttribute("data-team");
      var value = String(teams.hasOwnProperty(team) ? teams[team] : 0);
      if (node.textContent !== value) node.textContent = value;
    });
    var total = region.querySelector("[data-total]");
    if (total) total.textContent = String(body.total || 0);
    region.setAttribute("data-refreshed-at", body.at || "");
    if (updated) {
      var when = new Date(body.at || Date.now());
      updated.textContent = "updated " + when.toLocaleTimeString();
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" },
                 cache: "no-store", redirect: "error" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (body) {
        show(body);
        timer = window.setTimeout(poll, seconds * 1000);
      })
      .catch(function () {
        // Signed out or offline: stop; a reload shows the page's current state.
        if (updated) updated.textContent = "live updates paused";
        timer = null;
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden && timer) { window.clearTimeout(timer); timer = null; }
    else if (!document.hidden && !timer) { poll(); }
  });
  timer = window.setTimeout(poll, seconds * 1000);
})();
