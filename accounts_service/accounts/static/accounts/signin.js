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
    say(W.format(d.msgAsking, { wallet: entry.name }));
    var connected, signed;
    try {
      connected = await W.connect(entry);
    } catch (error) {
      say(W.format(d.msgRefused, { reason: W.reason(error) }));
      return;
    }
    if (!connected.rewardAddress) {
      say(d.msgNoAddress);
      return;
    }
    var challenge = await apiFetch(d.challengeUrl, { body: { stake_address: connected.rewardAddress } });
    if (!challenge.ok) {
      say("");
      if (challenge.body) showFieldErrors(form, challenge.body);
      return;
    }
    try {
      signed = await connected.api.signData(connected.rewardAddress, challenge.body.payload_hex);
    } catch (error) {
      say(W.format(d.msgRefused, { reason: W.reason(error) }));
      return;
    }
    var answer = await apiFetch(d.signinUrl, {
      body: {
        challenge_id: challenge.body.challenge_id,
        signature: signed.signature,
        key: signed.key,
        stake_address: connected.rewardAddress,
        next: d.next,
      },
    });
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
