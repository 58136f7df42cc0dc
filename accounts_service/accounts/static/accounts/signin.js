/* The sign-in page's wallet path: connect, ask accounts for a challenge for the wallet's stake
 * address, have the wallet sign it (CIP-30 signData), and hand the signature to the page's
 * endpoint, which sets the sign-in cookie and says where to go. */
(function () {
  "use strict";
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
