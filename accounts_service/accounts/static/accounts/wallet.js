/* CIP-30 wallets in this browser (window.cardano.<name>), for the sign-in page and my account:
 * list them, connect one (enable, getRewardAddresses), name why a wallet said no, and take both
 * pages' steps to a signed challenge (signChallenge). */
(function () {
  "use strict";

  function list() {
    var cardano = window.cardano;
    var found = [];
    var seen = {};
    if (!cardano || typeof cardano !== "object") return found;
    Object.keys(cardano).forEach(function (key) {
      var wallet = cardano[key];
      if (!wallet || typeof wallet !== "object" || typeof wallet.enable !== "function") return;
      var name = typeof wallet.name === "string" && wallet.name ? wallet.name : key;
      // Some wallets answer under two keys (an old name and a new one): list them once.
      if (seen[name]) return;
      seen[name] = true;
      // Only an inline image: a URL would have the page fetch from wherever the wallet says.
      var icon = typeof wallet.icon === "string" && wallet.icon.indexOf("data:image/") === 0
        ? wallet.icon : "";
      found.push({ key: key, name: name, icon: icon, wallet: wallet });
    });
    return found;
  }

  /* {api, rewardAddress}: rewardAddress is the hex CIP-30 gives (accounts takes it as is). */
  async function connect(entry) {
    var api = await entry.wallet.enable();
    var addresses = await api.getRewardAddresses();
    return { api: api, rewardAddress: addresses && addresses.length ? addresses[0] : null };
  }

  function reason(error) {
    if (!error) return "";
    if (typeof error === "string") return error;
    return String(error.info || error.message || error.code || error);
  }

  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, name) {
      return values[name] === undefined ? "" : values[name];
    });
  }

  /* Fills `ul` with one button per wallet; `onPick(entry, button)` on a click. Wallets that
   * inject themselves late are picked up by looking again a few times. */
  function render(ul, labels, onPick) {
    var shown = "";
    function draw() {
      var wallets = list();
      var names = wallets.map(function (w) { return w.name; }).join("\n");
      if (names === shown && ul.childElementCount) return;
      shown = names;
      ul.textContent = "";
      if (!wallets.length) {
        var none = document.createElement("li");
        none.className = "muted";
        none.id = ul.id + "-none";
        none.textContent = labels.none;
        ul.appendChild(none);
        return;
      }
      wallets.forEach(function (entry) {
        var li = document.createElement("li");
        var button = document.createElement("button");
        button.type = "button";
        button.className = "button button--secondary";
        button.dataset.wallet = entry.key;
        if (entry.icon) {
          var img = document.createElement("img");
          img.src = entry.icon;
          img.alt = "";
          button.appendChild(img);
        }
        button.appendChild(document.createTextNode(format(labels.connect, { wallet: entry.name })));
        button.addEventListener("click", function () { onPick(entry, button); });
        li.appendChild(button);
        ul.appendChild(li);
      });
    }
    draw();
    [300, 1000, 3000].forEach(function (ms) { setTimeout(draw, ms); });
  }

  /* The steps both pages take with the wallet picked: connect it, get a challenge for its stake
   * address (`steps.challenge(rewardAddress)`, an apiFetch promise), and have the wallet sign it
   * with its stake key (CIP-30 signData). `steps.say(text)` tells each step in the words of
   * `steps.messages` (the wallet form's data-msg-asking, -refused and -no-address). Resolves to
   * {challenge_id, signature, key, stake_address}; or to null when the wallet would not (said)
   * or accounts refused the challenge (`steps.refused(answer)`, after the status is cleared). */
  async function signChallenge(entry, steps) {
    var msg = steps.messages;
    steps.say(format(msg.msgAsking, { wallet: entry.name }));
    var connected, challenge, signed;
    try {
      connected = await connect(entry);
    } catch (error) {
      steps.say(format(msg.msgRefused, { reason: reason(error) }));
      return null;
    }
    if (!connected.rewardAddress) {
      steps.say(msg.msgNoAddress);
      return null;
    }
    challenge = await steps.challenge(connected.rewardAddress);
    if (!challenge.ok) {
      steps.say("");
      steps.refused(challenge);
      return null;
    }
    try {
      signed = await connected.api.signData(connected.rewardAddress, challenge.body.payload_hex);
    } catch (error) {
      steps.say(format(msg.msgRefused, { reason: reason(error) }));
      return null;
    }
    return {
      challenge_id: challenge.body.challenge_id,
      signature: signed.signature,
      key: signed.key,
      stake_address: connected.rewardAddress,
    };
  }

  window.cardanoWallets = {
    list: list,
    connect: connect,
    reason: reason,
    format: format,
    render: render,
    signChallenge: signChallenge,
  };
})();
