"""Email notifications to delegators: the models, the mail they get, the signed links in it."""
