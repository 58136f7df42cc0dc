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

  // --- talking to the API (the kit's page.js: apiFetch, showFieldErrors) ----------------
  // apiFetch shows the plain message of an expired session (401) or an unavailable service
  // (5xx, no answer) itself; any other refusal goes next to the field it names: one
  // allocation's beside its number field (data-error-for="allocations.<i>.points"), the
  // whole ballot's (overspent) beside the remaining power, the rest (the poll closed, not
  // eligible) at the top of the form.
  function showRefusal(result) {
    if (result.message || !result.body) return;
    window.showFieldErrors(form, result.body);
    var first = form.querySelector(".field-error, .form-errors");
    if (first) first.scrollIntoView({ block: "center" });
  }

  // --- the receipt --------------------------------------------------------------------
  var section = document.getElementById("receipt");
  var download = document.getElementById("receipt-download");

  function latestRevision() {
    var api = form.dataset.revisionsApi;
    return window.apiFetch(api + "?limit=1").then(function (first) {
      if (first.status !== 200) return first;
      return window.apiFetch(api + "?limit=1&offset=" + Math.max(first.body.count - 1, 0));
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
      window.localTimes(section);
      section.scrollIntoView({ block: "nearest" });
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
    window.clearFieldErrors(form);
    var allocations = rows.map(function (row) {
      var raw = row.querySelector("[data-role=points]").value.trim();
      // What was typed goes as typed (a number when it is one): the API words what is wrong.
      var points = /^\d+$/.test(raw) ? parseInt(raw, 10) : (raw === "" ? 0 : raw);
      return { cause: row.dataset.cause, points: points };
    });
    busy(true);
    window.apiFetch(form.dataset.ballotApi, { method: "PUT", body: { allocations: allocations } }).then(function (result) {
      if (result.status === 200 || result.status === 201) {
        retract.hidden = false;
        submit.textContent = form.dataset.labelRevise;
        return showReceipt(form.dataset.msgCast);
      }
      showRefusal(result);
    }).then(function () { busy(false); });
  });

  retract.addEventListener("click", function () {
    if (!window.confirm(form.dataset.msgConfirmRetract)) return;
    window.clearFieldErrors(form);
    busy(true);
    window.apiFetch(form.dataset.ballotApi, { method: "DELETE" }).then(function (result) {
      if (result.status === 204) {
        retract.hidden = true;
        return showReceipt(form.dataset.msgRetracted);
      }
      showRefusal(result);
    }).then(function () { busy(false); });
  });
})();
