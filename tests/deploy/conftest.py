"""The deploy tests read what `kubectl kustomize` renders. Without kubectl they are skipped on a
developer's machine (with the reason) and fail in CI, where kubectl must be installed."""

from __future__ import annotations

import os

import pytest

from tests.deploy import manifests


def require_kubectl() -> None:
    if manifests.kubectl():
        return
    reason = (
        "kubectl is not installed: the Kubernetes manifests cannot be rendered "
        "(install kubectl 1.31 or newer to run these tests)"
    )
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must have it")
    pytest.skip(reason)


@pytest.fixture(params=manifests.OVERLAYS)
def overlay(request) -> manifests.Render:
    """Each overlay, rendered once per session."""
    require_kubectl()
    r = manifests.render(f"overlays/{request.param}")
    assert r.returncode == 0, f"kubectl kustomize overlays/{request.param} failed:\n{r.stderr}"
    return r


@pytest.fixture
def dev() -> manifests.Render:
    require_kubectl()
    return manifests.render("overlays/dev")


@pytest.fixture
def prod() -> manifests.Render:
    require_kubectl()
    return manifests.render("overlays/prod")
