/* The delegators' pages of every service: small helpers, no build step.
 *
 * localTimes(root)            every <time datetime="…"> in the viewer's time zone
 * apiFetch(url, options)      this service's JSON API with the page's CSRF token; plain
 *                             messages for an expired session and an unavailable service
 * showFieldErrors(form, body) a DRF 400's messages next to the fields they concern
 * clearFieldErrors(form)      removes them
 * showMessage(text, kind)     the page's message line (role=status)
 *
 * Nothing here touches a form's values: a failed request leaves what was typed in place.
 */
(function () {
  "use strict";

  function messages() {
    return document.getElementById("page-message");
  }

  function text(name, fallback) {
    var box = messages();
    return (box && box.dataset[name]) || fallback;
  }

  function showMessage(message, kind, link) {
    var box = messages();
    if (!box) return;
    box.textContent = "";
    if (!message) return;
    var p = document.createElement("p");
    p.className = "message message--" + (kind || "info");
    p.textContent = message;
    if (link) {
      p.appendChild(document.createTextNode(" "));
      var a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.text;
      if (link.newTab) {
        // Signing in elsewhere keeps this page, and what was typed on it, as it is.
        a.target = "_blank";
        a.rel = "noopener";
      }
      p.appendChild(a);
    }
    box.appendChild(p);
  }

  function localTimes(root) {
    var scope = root || document;
    var withTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
    var dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
    scope.querySelectorAll("time[datetime]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when.getTime())) return;
      var format = el.dataset.format === "date" ? dateOnly : withTime;
      el.textContent = format.format(when);
      el.title = when.toISOString();
    });
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function signinHref() {
    var meta = document.querySelector('meta[name="signin-url"]');
    return meta ? meta.content : "/accounts/signin/";
  }

  /* Resolves (never rejects) to {ok, status, body, message}: `message` is set, and shown, for
   * what is not the form's fault (401, 429, 5xx, no answer); a 400's body is left to
   * showFieldErrors. options: method, body (an object, sent as JSON), form (a <form> whose
   * fields are sent as a browser sends them, urlencoded), quiet (show nothing). */
  function apiFetch(url, options) {
    var opts = options || {};
    var sending = opts.body !== undefined || opts.form !== undefined;
    var method = (opts.method || (sending ? "POST" : "GET")).toUpperCase();
    var headers = { Accept: "application/json" };
    if (method !== "GET" && method !== "HEAD") headers["X-CSRFToken"] = csrfToken();
    var init = { method: method, headers: headers, credentials: "same-origin" };
    if (opts.form !== undefined) {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      init.body = new URLSearchParams(new FormData(opts.form)).toString();
    } else if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(opts.body);
    }
    function done(result) {
      if (result.message && !opts.quiet) {
        var link = result.status === 401
          ? { href: signinHref(), text: text("signin", "Sign in again"), newTab: true }
          : null;
        showMessage(result.message, "error", link);
      }
      return result;
    }
    return fetch(url, init).then(
      function (response) {
        return response.text().then(function (raw) {
          var body = null;
          try {
            body = raw ? JSON.parse(raw) : null;
          } catch (e) {
            body = null;
          }
          var result = { ok: response.ok, status: response.status, body: body, message: null };
          if (response.status === 401) {
            result.message = text("expired", "Your session expired. Sign in again.");
          } else if (response.status === 429) {
            result.message = text("throttled", "Too many attempts. Wait a minute and try again.");
          } else if (response.status >= 500) {
            result.message = text("unavailable", "The service is briefly unavailable. Try again.");
          } else if (response.ok && !opts.quiet) {
            showMessage("");
          }
          return done(result);
        });
      },
      function () {
        return done({
          ok: false,
          status: 0,
          body: null,
          message: text("unavailable", "The service is briefly unavailable. Try again."),
        });
      }
    );
  }

  function clearFieldErrors(form) {
    form.querySelectorAll(".field-error, .form-errors").forEach(function (el) {
      el.remove();
    });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) {
      el.removeAttribute("aria-invalid");
    });
  }

  function flatten(body, prefix, out) {
    // DRF nests: {"allocations": [{"points": ["…"]}, {}]} -> "allocations.0.points".
    if (Array.isArray(body) && body.every(function (m) { return typeof m === "string"; })) {
      out.push([prefix, body]);
    } else if (typeof body === "string") {
      out.push([prefix, [body]]);
    } else if (body && typeof body === "object") {
      Object.keys(body).forEach(function (key) {
        flatten(body[key], prefix ? prefix + "." + key : key, out);
      });
    }
    return out;
  }

  function fieldFor(form, path) {
    var marked = form.querySelector('[data-error-for="' + CSS.escape(path) + '"]');
    if (marked) return marked;
    var named = form.elements.namedItem(path);
    return named && named.nodeType === 1 ? named : null;
  }

  /* Puts each message of a DRF error body next to its field (the element named like the key,
   * or marked data-error-for="key.0.sub"); the rest (non_field_errors, detail, fields the
   * form does not show) at the top of the form. Returns true if anything was shown. */
  function showFieldErrors(form, body) {
    clearFieldErrors(form);
    var general = [];
    flatten(body, "", []).forEach(function (entry) {
      var path = entry[0];
      var field = path && path !== "non_field_errors" && path !== "detail" ? fieldFor(form, path) : null;
      if (!field) {
        general = general.concat(entry[1]);
        return;
      }
      var note = document.createElement("p");
      note.className = "field-error";
      note.id = "error-" + path.replace(/[^A-Za-z0-9_-]/g, "-");
      note.textContent = entry[1].join(" ");
      field.setAttribute("aria-invalid", "true");
      var described = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      if (described.indexOf(note.id) < 0) described.push(note.id);
      field.setAttribute("aria-describedby", described.join(" "));
      field.insertAdjacentElement("afterend", note);
    });
    if (general.length) {
      var box = document.createElement("div");
      box.className = "form-errors";
      box.setAttribute("role", "alert");
      general.forEach(function (message) {
        var p = document.createElement("p");
        p.textContent = message;
        box.appendChild(p);
      });
      form.insertBefore(box, form.firstChild);
    }
    var first = form.querySelector("[aria-invalid='true']");
    if (first && first.focus) first.focus();
    return general.length > 0 || !!first;
  }

  window.localTimes = localTimes;
  window.apiFetch = apiFetch;
  window.showFieldErrors = showFieldErrors;
  window.clearFieldErrors = clearFieldErrors;
  window.showMessage = showMessage;

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { localTimes(); });
  } else {
    localTimes();
  }
})();
