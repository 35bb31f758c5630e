// Q2C developer portal: copy buttons, and the getting-started token and first-call steps.
// Plain JavaScript, no framework; everything talks to this gateway only.
"use strict";

(function () {
  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function show(target, status, summary, body) {
    target.replaceChildren();
    var line = el("p");
    line.append(el("strong", "HTTP " + status), " " + summary);
    target.append(line);
    if (body) {
      var pre = el("pre", body);
      pre.tabIndex = 0;  // it scrolls: keyboard users must reach it
      target.append(pre);
    }
  }

  function pretty(text) {
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return text; }
  }

  // Copy buttons on code blocks.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var code = button.closest("figure").querySelector("code").textContent;
      var done = function () { button.textContent = "Copied"; };
      if (navigator.clipboard) {
        navigator.clipboard.writeText(code).then(done, function () { button.textContent = "Copy failed"; });
      }
    });
  });

  var tokenForm = document.getElementById("token-form");
  if (!tokenForm) return;
  var callForm = document.getElementById("call-form");
  var makeCall = document.getElementById("make-call");
  var tokenResult = document.getElementById("token-result");
  var callResult = document.getElementById("call-result");
  var accessToken = null;

  // Fresh credentials from a registration fill the token form.
  var credentials = document.getElementById("credentials");
  if (credentials) {
    document.getElementById("client-id").value = credentials.dataset.clientId;
    document.getElementById("client-secret").value = credentials.dataset.clientSecret;
  }

  tokenForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var id = document.getElementById("client-id").value.trim();
    var secret = document.getElementById("client-secret").value;
    var scope = document.getElementById("token-scope").value.trim();
    var form = new URLSearchParams({ grant_type: "client_credentials" });
    if (scope) form.set("scope", scope);
    // RFC 6749 section 2.3.1: id and secret are form-urlencoded before Basic encoding.
    var basic = btoa(encodeURIComponent(id) + ":" + encodeURIComponent(secret));
    show(tokenResult, "…", "asking the token endpoint");
    fetch("/oauth/token", {
      method: "POST",
      headers: { "Authorization": "Basic " + basic, "Content-Type": "application/x-www-form-urlencoded" },
      body: form.toString(),
      credentials: "omit",
    }).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = JSON.parse(text); } catch (e) { data = null; }
        if (response.ok && data && data.access_token) {
          accessToken = data.access_token;
          makeCall.disabled = false;
          show(tokenResult, response.status, "token issued for scopes: " + data.scope +
               " (expires in " + data.expires_in + " s)", data.access_token);
          tokenResult.dataset.state = "issued";
        } else {
          accessToken = null;
          makeCall.disabled = true;
          show(tokenResult, response.status, (data && data.error) || "refused", pretty(text));
          tokenResult.dataset.state = "refused";
        }
      });
    }).catch(function (error) {
      show(tokenResult, "-", "the request failed: " + error);
    });
  });

  callForm.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!accessToken) return;
    var path = document.getElementById("call-path").value;
    show(callResult, "…", "calling GET " + path);
    fetch(path, { headers: { "Authorization": "Bearer " + accessToken, "Accept": "application/json" },
                  credentials: "omit" })
      .then(function (response) {
        return response.text().then(function (text) {
          var limit = response.headers.get("RateLimit");
          show(callResult, response.status, "GET " + path + (limit ? " · RateLimit: " + limit : ""),
               pretty(text));
          callResult.dataset.state = response.ok ? "ok" : "failed";
        });
      }).catch(function (error) {
        show(callResult, "-", "the request failed: " + error);
      });
  });
})();
