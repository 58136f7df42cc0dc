"""The settings the rendered manifests give the web pods, loaded by the services themselves (no
cluster): `manage.py check --deploy` is clean with prod's, and the throttles count the client
behind the gateway's proxy."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest

from tests.deploy import manifests
from tests.deploy.manifests import ROOT, SERVICES

EXAMPLE_SECRETS = manifests.KUSTOMIZE / "components" / "example-secrets"


def operator_secrets(service: str) -> dict[str, dict[str, str]]:
    """What README "Prod" has the operator create, with throwaway values."""
    own = {"SECRET_KEY": secrets.token_urlsafe(50)}
    if service == "accounts":
        own["JWT_PRIVATE_KEY"] = (EXAMPLE_SECRETS / "jwt-private.pem").read_text()
    return {
        f"{service}-secrets": own,
        "jwt-public-keys": {"JWT_PUBLIC_KEY": (EXAMPLE_SECRETS / "jwt-public.pem").read_text()},
        # Never connected to: check --deploy and the throttle's address need no database.
        f"{service}-db-app": {"uri": f"postgres://{service}:x@127.0.0.1:9/{service}"},
    }


def web_environment(r: manifests.Render, service: str, tmp_path) -> dict[str, str]:
    web = manifests.main_container(manifests.app_pod(r, service, "web"))
    env = manifests.container_env(r, web, operator_secrets(service))
    unresolved = [k for k, v in env.items() if isinstance(v, manifests.Unresolved)]
    assert not unresolved, f"{service}: {unresolved}"
    # The image's paths, here a temporary directory (the pod's own files are not here).
    env["STATIC_ROOT"] = str(tmp_path / "static")
    env["VAR_DIR"] = str(tmp_path / "var")
    return {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **env}


def manage(service: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT / f"{service}_service",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("service", SERVICES)
def test_check_deploy_is_clean_with_prod_s_settings(prod, service, tmp_path):
    proc = manage(
        service,
        web_environment(prod, service, tmp_path),
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no issues (0 silenced)" in proc.stdout, proc.stdout


def test_check_deploy_sees_dev_s_plain_http(dev, tmp_path):
    """The check above can fail: dev (plain HTTP, no HTTPS_ONLY) has what it warns of."""
    proc = manage(
        "polls",
        web_environment(dev, "polls", tmp_path),
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert proc.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in proc.stdout + proc.stderr, warning


CLIENT_ADDRESS = """
import django
django.setup()
from django.test import RequestFactory
from accounts.throttles import client_address
request = RequestFactory().post(
    "/accounts/api/token/",
    REMOTE_ADDR="10.244.1.7",  # the gateway's proxy, as the web pod sees it
    # what the client forged, then what the proxy appended: the client's own address
    HTTP_X_FORWARDED_FOR="192.0.2.66, 203.0.113.9",
)
print(client_address(request))
"""


def test_throttles_count_the_client_behind_the_gateway(overlay, tmp_path):
    env = web_environment(overlay, "accounts", tmp_path)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    proc = subprocess.run(
        [sys.executable, "-c", CLIENT_ADDRESS],
        cwd=ROOT / "accounts_service",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "203.0.113.9", proc.stdout


HTTPS_ONLY_REQUESTS = """
import json
import sys
import django
django.setup()
from django.test import Client
service, host = sys.argv[1:]
client = Client()
answers = {}
for name, path, host, proto in (
    ("probe", f"/{service}/health/live", "localhost", None),
    ("scrape", f"/{service}/metrics", "localhost", None),
    ("plain", f"/{service}/api/", host, None),
    ("gateway", f"/{service}/health/live", host, "https"),
):
    extra = {"HTTP_X_FORWARDED_PROTO": proto} if proto else {}
    r = client.get(path, HTTP_HOST=host, **extra)
    answers[name] = [r.status_code, r.get("Location"), r.get("Strict-Transport-Security")]
print(json.dumps(answers))
"""


@pytest.mark.parametrize("service", SERVICES)
def test_https_only_redirects_all_but_the_probes_and_the_scrape(prod, service, tmp_path):
    """With prod's settings a request over plain HTTP is sent to HTTPS, but the kubelet's
    probes and Prometheus, which reach the pod over HTTP, are answered as they are; through the
    gateway (X-Forwarded-Proto: https) the answer carries HSTS."""
    import json

    env = web_environment(prod, service, tmp_path)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    host = manifests.TEST_SITE["host"]
    proc = subprocess.run(
        [sys.executable, "-c", HTTPS_ONLY_REQUESTS, service, host],
        cwd=ROOT / f"{service}_service",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    answers = json.loads(proc.stdout.strip().splitlines()[-1])
    assert answers["probe"][0] == 200, answers
    assert answers["scrape"][0] != 301, answers  # the view's own answer, whatever it is
    assert answers["plain"][:2] == [301, f"https://{host}/{service}/api/"], answers
    assert answers["gateway"][0] == 200, answers
    assert answers["gateway"][2] == "max-age=31536000; includeSubDomains; preload", answers
