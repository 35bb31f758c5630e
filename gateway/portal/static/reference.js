// Starts the vendored Swagger UI on #swagger-ui with the document named in data-spec-url.
// Offline: no validator badge (it would call validator.swagger.io), no external assets.
"use strict";

(function () {
  var target = document.getElementById("swagger-ui");
  if (!target || typeof SwaggerUIBundle === "undefined") return;
  target.replaceChildren();
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
    onComplete: function () { target.dataset.state = "rendered"; },
  });
})();
