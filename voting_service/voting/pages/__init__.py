"""The delegators' pages: open polls, a poll with my ballot, my history and the results.

Server-rendered from voting's selectors and services; every write goes from the browser
through voting's own JSON API (same origin, the sign-in cookie and the CSRF token), so the API
stays the one contract for a ballot."""
