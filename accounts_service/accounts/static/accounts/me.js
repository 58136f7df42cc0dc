/* My account: change the email or the password, and link the stake address with a wallet,
 * through accounts' JSON API (me/, me/stake-address/challenge|verify/). A refusal is shown next
 * to its field; an expired session or an unavailable service leaves everything typed in place. */
(function () {
  "use strict";
  var root = document.getElementById("me");
  if (!root) return;
  var d = root.dataset;
  var W = window.cardanoWallets;

  function showStakeAddress(account) {
    var dd = document.getElementById("me-stake-address");
    dd.textContent = "";
    var code = document.createElement("code");
    code.textContent = account.stake_address;
    dd.appendChild(code);
    var verified = document.getElementById("me-stake-verified");
    verified.textContent = "";
    var time = document.createElement("time");
    time.setAttribute("datetime", account.stake_address_verified_at);
    verified.appendChild(time);
    localTimes(verified);
  }

  var emailForm = document.getElementById("email-form");
  emailForm.addEventListener("submit", async function (event) {
    event.preventDefault();
    clearFieldErrors(emailForm);
    var result = await apiFetch(d.meUrl, { method: "PATCH", body: { email: emailForm.email.value } });
    if (result.ok) {
      document.getElementById("me-email").textContent = result.body.email;
      showMessage(d.msgEmailSaved, "success");
    } else if (result.body && !result.message) {
      showFieldErrors(emailForm, result.body);
    }
  });

  var passwordForm = document.getElementById("password-form");
  passwordForm.addEventListener("submit", async function (event) {
    event.preventDefault();
    clearFieldErrors(passwordForm);
    var f = passwordForm.elements;
    if (f.password.value !== f.password2.value) {
      showFieldErrors(passwordForm, { password2: [d.msgMismatch] });
      return;
    }
    var body = { password: f.password.value };
    if (!f.current_password.disabled) body.current_password = f.current_password.value;
    var result = await apiFetch(d.meUrl, { method: "PATCH", body: body });
    if (result.ok) {
      passwordForm.reset();
      // From now on the account has a password: changing it asks for it.
      document.getElementById("current-password-field").hidden = false;
      f.current_password.disabled = false;
      var note = document.getElementById("no-password-yet");
      if (note) note.remove();
      showMessage(d.msgPasswordSaved, "success");
    } else if (result.body && !result.message) {
      showFieldErrors(passwordForm, result.body);
    }
  });

  var stakeForm = document.getElementById("stake-form");
  var stakeStatus = document.getElementById("stake-status");
  function say(text) { stakeStatus.textContent = text; }

  async function link(entry) {
    clearFieldErrors(stakeForm);
    var signed = await W.signChallenge(entry, {
      messages: stakeForm.dataset,
      say: say,
      challenge: function () { return apiFetch(d.challengeUrl, { body: {} }); },
      refused: function (answer) {
        if (answer.body && !answer.message) showFieldErrors(stakeForm, answer.body);
      },
    });
    if (!signed) return;
    var proof = await apiFetch(d.verifyUrl, {
      body: { challenge_id: signed.challenge_id, signature: signed.signature, key: signed.key },
    });
    say("");
    if (proof.ok) {
      showStakeAddress(proof.body);
      showMessage(d.msgLinked, "success");
    } else if (proof.body && !proof.message) {
      showFieldErrors(stakeForm, proof.body);
    }
  }

  W.render(
    document.getElementById("stake-wallets"),
    { none: d.msgNone, connect: d.msgConnect },
    function (entry) {
      stakeForm.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      link(entry).finally(function () {
        stakeForm.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
      });
    }
  );
})();
