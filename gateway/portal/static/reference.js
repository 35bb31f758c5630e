// Starts the vendored Swagger UI on #swagger-ui with the document named in data-spec-url.
// Offline: no validator badge (it would call validator.swagger.io), no external assets.
// A few accessibility repairs are applied to what Swagger UI renders (see repair()).
"use strict";

(function () {
  var target = document.getElementById("swagger-ui");
  if (!target || typeof SwaggerUIBundle === "undefined") return;

  function label(node, text) {
    if (!node.hasAttribute("aria-label")) node.setAttribute("aria-label", text);
  }

  // Swagger UI markup that fails WCAG checks, fixed after each render:
  // - the path inside each operation's summary button is also a link (a control nested in
  //   a control); the button already expands it and deep links still work without it;
  // - form controls without a label: the servers select, parameter inputs, body editors;
  // - scrolling code examples that a keyboard cannot reach.
  function repair(root) {
    root.querySelectorAll(".opblock-summary-control a[href]").forEach(function (link) {
      link.removeAttribute("href");
    });
    root.querySelectorAll("select#servers").forEach(function (node) { label(node, "Server"); });
    root.querySelectorAll("tr[data-param-name]").forEach(function (row) {
      var name = row.dataset.paramName + " (" + (row.dataset.paramIn || "parameter") + ")";
      row.querySelectorAll("input, select, textarea").forEach(function (node) {
        label(node, name);
      });
    });
    root.querySelectorAll(".body-param textarea").forEach(function (node) {
      label(node, "Request body");
    });
    root.querySelectorAll(".highlight-code pre:not([tabindex]), .microlight:not([tabindex])")
      .forEach(function (node) { node.setAttribute("tabindex", "0"); });
    // The Authorize dialog: an icon-only close button, and buttons whose accessible name
    // does not contain the word a speech-input user sees on them.
    root.querySelectorAll("button.close-modal").forEach(function (node) { label(node, "Close"); });
    root.querySelectorAll("button[aria-label]").forEach(function (node) {
      var seen = node.textContent.trim();
      var name = node.getAttribute("aria-label");
      if (seen && name.toLowerCase().indexOf(seen.toLowerCase()) === -1) {
        node.setAttribute("aria-label", seen + ": " + name);
      }
    });
  }

  target.replaceChildren();
  new MutationObserver(function () { repair(target); })
    .observe(target, { childList: true, subtree: true });
  window.q2cReference = SwaggerUIBundle({
    url: target.dataset.specUrl,
    domNode: target,
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
    persistAuthorization: false,
    onComplete: function () {
      repair(target);
      target.dataset.state = "rendered";
    },
  });
})();
