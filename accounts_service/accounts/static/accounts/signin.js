/* The sign-in page. Its wallet path: connect, ask accounts for a challenge for the wallet's stake
 * address, have the wallet sign it (CIP-30 signData), and hand the signature to the page's
 * endpoint, which sets the sign-in cookie and says where to go. */
(function () {
  "use strict";

  /* The email form, posted by the script when there is one: a service briefly away or an
   * expired page leaves both fields as typed (the form still works without the script). */
  var emailForm = document.getElementById("email-signin");
  if (emailForm) {
    emailForm.addEventListener("submit", async function (event) {
      event.preventDefault();
      clearFieldErrors(emailForm); // the last try's, from the server's page or this script
      var button = emailForm.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        var answer = await apiFetch(emailForm.action, { form: emailForm });
        if (answer.ok && answer.body && answer.body.next) {
          window.location.assign(answer.body.next);
          return;
        }
        if (answer.body && (!answer.message || answer.status === 429)) {
          showFieldErrors(emailForm, answer.body);
        } else if (!answer.body && !answer.message) {
          emailForm.submit(); // an answer that is not the page's JSON: let the server's page say
        }
      } finally {
        button.disabled = false;
      }
    });
  }

  var section = document.getElementById("wallet-signin");
  if (!section) return;
  var form = document.getElementById("wallet-form");
  var status = document.getElementById("wallet-status");
  var d = section.dataset;
  var W = window.cardanoWallets;

  function say(text) { status.textContent = text; }

  function busy(on) {
    form.querySelectorAll("button").forEach(function (b) { b.disabled = on; });
    form.setAttribute("aria-busy", on ? "true" : "false");
  }

  async function signIn(entry) {
    clearFieldErrors(form);
    var proof = await W.signChallenge(entry, {
      messages: form.dataset,
      say: say,
      challenge: function (address) {
        return apiFetch(d.challengeUrl, { body: { stake_address: address } });
      },
      refused: function (answer) {
        if (answer.body) showFieldErrors(form, answer.body);
      },
    });
    if (!proof) return;
    proof.next = d.next;
    var answer = await apiFetch(d.signinUrl, { body: proof });
    if (answer.ok) {
      say(d.msgSignedIn);
      window.location.assign(answer.body.next);
      return;
    }
    say("");
    if (answer.body) showFieldErrors(form, answer.body);
  }

  W.render(
    document.getElementById("wallet-list"),
    { none: d.msgNone, connect: d.msgConnect },
    function (entry) {
      busy(true);
      signIn(entry).finally(function () { busy(false); });
    }
  );
})();
