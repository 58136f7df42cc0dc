// "Check my receipt": fetch the receipts the final tally counted (GET .../receipts/, every
// page), find mine among them, and recompute their digest in the browser, SHA-256 over the
// documented text (voting/receipts.py, format charity-vote-receipts/1), to show it is the
// published one.
(function () {
  "use strict";
  var section = document.getElementById("check");
  if (!section) return;
  var PAGE = 10000;

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, name) { return values[name]; });
  }

  // Every page of the list; the kit's apiFetch shows the plain message of a 401 or a 5xx.
  function fetchAll(url, offset, receipts) {
    return window.apiFetch(url + "?limit=" + PAGE + "&offset=" + offset).then(function (result) {
      if (!result.ok) throw result;
      receipts = receipts.concat(result.body.results);
      var more = result.body.next && result.body.results.length;
      return more ? fetchAll(url, offset + result.body.results.length, receipts) : receipts;
    });
  }

  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function digestOf(poll, receipts) {
    // Sorted as the server sorts them (plain code-point order of lowercase hex).
    var sorted = receipts.slice().sort();
    var text = "charity-vote-receipts/1 poll=" + poll + "\n" + sorted.map(function (r) { return r + "\n"; }).join("");
    return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)).then(hex);
  }

  var found = document.getElementById("check-found");
  var digestLine = document.getElementById("check-digest");

  document.getElementById("check-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var receipt = document.getElementById("check-receipt").value.trim().toLowerCase();
    found.textContent = section.dataset.msgFetching;
    digestLine.textContent = "";
    section.classList.remove("match", "mismatch");
    fetchAll(section.dataset.receiptsApi, 0, []).then(function (receipts) {
      var position = receipts.indexOf(receipt);
      found.textContent = position >= 0
        ? fill(section.dataset.msgFound, { position: position + 1, count: receipts.length })
        : fill(section.dataset.msgMissing, { count: receipts.length });
      found.className = position >= 0 ? "ok" : "bad";
      if (!(window.crypto && crypto.subtle)) {
        digestLine.textContent = section.dataset.msgNocrypto;
        return;
      }
      return digestOf(section.dataset.poll, receipts).then(function (digest) {
        var same = digest === section.dataset.digest;
        digestLine.textContent = fill(same ? section.dataset.msgMatch : section.dataset.msgMismatch, { digest: digest });
        digestLine.className = same ? "ok" : "bad";
      });
    }).catch(function (result) {
      found.className = "bad";
      found.textContent = (result && result.body && result.body.detail) || section.dataset.msgFailed;
    });
  });
})();
