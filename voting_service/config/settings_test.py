"""Test settings: the real settings, with a throwaway var/ and nothing that needs Redis."""

import os
import tempfile

os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="voting-test-var-"))

from .settings import *  # noqa: E402,F403

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

SHARED_EVENTS = {**SHARED_EVENTS, "RELAY_KICK": False}  # noqa: F405
