"""accounts' pages for delegators (server-rendered, on shared_events' kit/page.html): signing in
with an email or a wallet, and my account. Thin views over accounts' services and selectors;
the page's JavaScript calls accounts' own JSON API for the rest (the API stays the contract)."""
