"""The platform kit: what the three services share to run that is not events (settings, URLs,
health, identity, API helpers, charts, the admin's branding). It may import the core."""
