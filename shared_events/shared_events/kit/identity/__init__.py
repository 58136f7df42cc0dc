"""Identity from accounts-issued JWTs: verified with the public key alone, no call to accounts."""
