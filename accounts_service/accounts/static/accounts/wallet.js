/* CIP-30 wallets in this browser (window.cardano.<name>), for the sign-in page and my account:
 * list them, connect one (enable, getRewardAddresses), and name why a wallet said no. */
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

  window.cardanoWallets = { list: list, connect: connect, reason: reason, format: format, render: render };
})();
