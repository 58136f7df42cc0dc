// My ballot: sliders and number fields kept in step, the remaining power, and the writes
// through voting's JSON API (PUT and DELETE .../ballot/), with the API's refusals shown next
// to the field they concern. Nothing typed is ever cleared by an error.
(function () {
  "use strict";
  var form = document.getElementById("ballot");
  if (!form) return;
  var power = parseInt(form.dataset.power, 10);
  var rows = Array.prototype.slice.call(form.querySelectorAll(".allocation"));
  var remaining = document.getElementById("remaining");

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, name) { return values[name]; });
  }

  function pointsOf(row) {
    var value = parseInt(row.querySelector("[data-role=points]").value, 10);
    return isNaN(value) || value < 0 ? 0 : value;
  }

  function showRemaining() {
    var total = rows.reduce(function (sum, row) { return sum + pointsOf(row); }, 0);
    var left = power - total;
    remaining.textContent = left >= 0
      ? fill(form.dataset.msgRemaining, { left: left, power: power })
      : fill(form.dataset.msgOver, { over: -left });
    remaining.classList.toggle("over", left < 0);
  }

  rows.forEach(function (row) {
    var range = row.querySelector("[data-role=range]");
    var number = row.querySelector("[data-role=points]");
    range.addEventListener("input", function () { number.value = range.value; showRemaining(); });
    number.addEventListener("input", function () {
      range.value = String(Math.min(pointsOf(row), power));
      showRemaining();
    });
  });
  showRemaining();

  // --- talking to the API -------------------------------------------------------------
  var csrf = document.querySelector("meta[name=csrf-token]").content;

  function send(method, url, body) {
    var options = {
      method: method,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrf },
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      if (response.status === 204) return { status: 204, body: null };
      return response.json().then(
        function (json) { return { status: response.status, body: json }; },
        function () { return { status: response.status, body: null }; }
      );
    }, function () { return { status: 0, body: null }; });
  }

  function clearErrors() {
    form.querySelectorAll(".field-error, .form-error").forEach(function (p) {
      p.hidden = true;
      p.textContent = "";
    });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
  }

  function say(id, messages) {
    var p = document.getElementById(id);
    p.textContent = [].concat(messages).join(" ");
    p.hidden = false;
  }

  function messagesOf(value) {
    if (typeof value === "string") return [value];
    if (Array.isArray(value)) return value.reduce(function (all, v) { return all.concat(messagesOf(v)); }, []);
    if (value && typeof value === "object") {
      return Object.keys(value).reduce(function (all, k) { return all.concat(messagesOf(value[k])); }, []);
    }
    return [];
  }

  // A refusal next to what it concerns: a message about one allocation beside its cause
  // ({"allocations": {"2": {"points": [...]}}}), one about the whole ballot (overspent) beside
  // the remaining power, anything else (the poll closed, not eligible) above the buttons.
  function showRefusal(result) {
    var body = result.body || {};
    if (result.status === 401) return say("error-form", form.dataset.msgExpired);
    if (result.status === 0 || result.status >= 500) return say("error-form", form.dataset.msgUnavailable);
    var allocations = body.allocations;
    if (allocations && !Array.isArray(allocations) && typeof allocations === "object") {
      Object.keys(allocations).forEach(function (index) {
        var row = rows[parseInt(index, 10)];
        if (row) {
          row.querySelector("[data-role=points]").setAttribute("aria-invalid", "true");
          say("error-" + row.dataset.index, messagesOf(allocations[index]));
        } else {
          say("error-allocations", messagesOf(allocations[index]));
        }
      });
    } else if (allocations) {
      say("error-allocations", messagesOf(allocations));
    }
    var rest = Object.keys(body).filter(function (k) { return k !== "allocations"; });
    if (rest.length) say("error-form", messagesOf(rest.map(function (k) { return body[k]; })));
    var first = form.querySelector(".field-error:not([hidden]), .form-error:not([hidden])");
    if (first) first.scrollIntoView({ block: "center" });
  }

  // --- the receipt --------------------------------------------------------------------
  var section = document.getElementById("receipt");
  var download = document.getElementById("receipt-download");

  function latestRevision() {
    var api = form.dataset.revisionsApi;
    return send("GET", api + "?limit=1").then(function (first) {
      if (first.status !== 200) return first;
      return send("GET", api + "?limit=1&offset=" + Math.max(first.body.count - 1, 0));
    });
  }

  function showReceipt(message) {
    return latestRevision().then(function (result) {
      if (result.status !== 200 || !result.body.results.length) return showRefusal(result);
      var revision = result.body.results[0];
      var record = Object.assign({ poll: form.dataset.poll }, revision);
      document.getElementById("receipt-status").textContent = message;
      document.getElementById("receipt-value").textContent = revision.receipt;
      document.getElementById("receipt-copied").textContent = "";
      if (download.href.indexOf("blob:") === 0) URL.revokeObjectURL(download.href);
      var blob = new Blob([JSON.stringify(record, null, 2) + "\n"], { type: "application/json" });
      download.href = URL.createObjectURL(blob);
      download.download = "receipt-" + form.dataset.poll + "-" + revision.number + ".json";
      section.hidden = false;
      section.focus && section.scrollIntoView({ block: "nearest" });
    });
  }

  document.getElementById("receipt-copy").addEventListener("click", function () {
    var text = document.getElementById("receipt-value").textContent;
    var done = function () { document.getElementById("receipt-copied").textContent = form.dataset.msgCopied; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
    } else {
      var range = document.createRange();
      range.selectNodeContents(document.getElementById("receipt-value"));
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
      document.execCommand("copy");
      done();
    }
  });

  // --- submit, revise, retract --------------------------------------------------------
  var submit = document.getElementById("submit");
  var retract = document.getElementById("retract");

  function busy(on) { submit.disabled = on; retract.disabled = on; form.setAttribute("aria-busy", on ? "true" : "false"); }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearErrors();
    var allocations = rows.map(function (row) {
      var raw = row.querySelector("[data-role=points]").value.trim();
      // What was typed goes as typed (a number when it is one): the API words what is wrong.
      var points = /^\d+$/.test(raw) ? parseInt(raw, 10) : (raw === "" ? 0 : raw);
      return { cause: row.dataset.cause, points: points };
    });
    busy(true);
    send("PUT", form.dataset.ballotApi, { allocations: allocations }).then(function (result) {
      if (result.status === 200 || result.status === 201) {
        retract.hidden = false;
        return showReceipt(form.dataset.msgCast);
      }
      showRefusal(result);
    }).then(function () { busy(false); });
  });

  retract.addEventListener("click", function () {
    if (!window.confirm(form.dataset.msgConfirmRetract)) return;
    clearErrors();
    busy(true);
    send("DELETE", form.dataset.ballotApi).then(function (result) {
      if (result.status === 204) {
        retract.hidden = true;
        return showReceipt(form.dataset.msgRetracted);
      }
      showRefusal(result);
    }).then(function () { busy(false); });
  });
})();
