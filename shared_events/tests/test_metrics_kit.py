"""The kit's metrics: HTTP requests counted by URL pattern, the web's /metrics view (never
through a proxy), Celery tasks from Celery's signals, and gunicorn's multiprocess hooks."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
from celery import Celery
from django.http import HttpResponse
from django.urls import path
from prometheus_client import REGISTRY

from shared_events.kit import gunicorn_conf
from shared_events.kit.metrics_celery import record_celery_metrics


def hello(request, name):
    return HttpResponse(f"hello {name}")


def broken(request):
    raise RuntimeError("a bug")


urlpatterns = [
    path("testsvc/hello/<str:name>/", hello, name="hello"),
    path("testsvc/broken/", broken),
]


@pytest.fixture
def web(settings):
    settings.ROOT_URLCONF = __name__
    settings.SERVICE_NAME = "testsvc"
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.MIDDLEWARE = [
        "shared_events.kit.metrics_web.HttpMetricsMiddleware",
        "django.middleware.common.CommonMiddleware",  # where Django checks the Host
    ]


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"service": "testsvc", **labels}) or 0.0


def test_requests_are_counted_by_route_never_by_raw_path(web, client):
    route = "testsvc/hello/<str:name>/"
    before = value("http_requests_total", route=route, method="GET", status="200")
    timed = value("http_request_duration_seconds_count", route=route, method="GET")
    for name in ("ada", "grace", "alan"):
        assert client.get(f"/testsvc/hello/{name}/").status_code == 200
    assert value("http_requests_total", route=route, method="GET", status="200") == before + 3
    assert value("http_request_duration_seconds_count", route=route, method="GET") == timed + 3
    assert not any(
        "ada" in sample.labels.get("route", "")
        for family in REGISTRY.collect()
        for sample in family.samples
    )


def test_unmatched_paths_odd_methods_and_errors_have_bounded_labels(web, client):
    missing = value("http_requests_total", route="unmatched", method="GET", status="404")
    assert client.get("/no/such/page").status_code == 404
    assert value("http_requests_total", route="unmatched", method="GET", status="404") == (
        missing + 1
    )
    odd = value("http_requests_total", route="unmatched", method="other", status="404")
    assert client.generic("BREW", "/no/such/page").status_code == 404
    assert value("http_requests_total", route="unmatched", method="other", status="404") == odd + 1

    client.raise_request_exception = False
    failed = value("http_requests_total", route="testsvc/broken/", method="GET", status="500")
    assert client.get("/testsvc/broken/").status_code == 500
    assert value("http_requests_total", route="testsvc/broken/", method="GET", status="500") == (
        failed + 1
    )


def test_the_metrics_view_answers_inside_and_404_through_a_proxy(web, client):
    client.get("/testsvc/hello/ada/")
    inside = client.get("/testsvc/metrics")
    assert inside.status_code == 200
    assert inside["Content-Type"].startswith("text/plain")
    assert b'http_requests_total{method="GET",route="testsvc/hello/<str:name>/"' in inside.content
    for header in ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP"):
        through = client.get("/testsvc/metrics", **{header: "203.0.113.7"})
        assert through.status_code == 404, header
        assert b"http_requests_total" not in through.content
    assert client.post("/testsvc/metrics").status_code == 405
    # Prometheus scrapes a pod by its address, a Host no ALLOWED_HOSTS lists.
    assert client.get("/testsvc/metrics", HTTP_HOST="10.1.2.3:8000").status_code == 200
    assert client.get("/testsvc/hello/ada/", HTTP_HOST="10.1.2.3:8000").status_code == 400


def test_the_view_sums_the_files_of_every_worker_in_multiprocess_mode(tmp_path):
    """Two processes (as two gunicorn workers) count into PROMETHEUS_MULTIPROC_DIR; the view,
    in a third, shows their sum. A process of its own each: the mode is chosen at import."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    count = textwrap.dedent(
        """
        from shared_events.kit.metrics import HTTP_REQUESTS
        HTTP_REQUESTS.labels("testsvc", "r/", "GET", "200").inc(%d)
        """
    )
    for n in (2, 5):
        subprocess.run([sys.executable, "-c", count % n], env=env, check=True)
    view = textwrap.dedent(
        """
        import django
        from django.conf import settings
        settings.configure(ROOT_URLCONF=[], ALLOWED_HOSTS=["*"])
        django.setup()
        from django.test import RequestFactory
        from shared_events.kit.metrics_web import metrics_view
        print(metrics_view(RequestFactory().get("/testsvc/metrics")).content.decode())
        """
    )
    shown = subprocess.run(
        [sys.executable, "-c", view], env=env, check=True, capture_output=True, text=True
    ).stdout
    assert (
        'http_requests_total{method="GET",route="r/",service="testsvc",status="200"} 7.0' in shown
    )


# --- Celery ---


@pytest.fixture
def celery_app():
    record_celery_metrics()
    app = Celery("metrics-test", set_as_current=False)
    app.conf.task_always_eager = True
    return app


def test_tasks_are_counted_and_timed_by_name_and_outcome(celery_app):
    @celery_app.task(name="testsvc.works")
    def works() -> int:
        return 1

    @celery_app.task(name="testsvc.fails")
    def fails() -> None:
        raise ValueError("no")

    ok = value("celery_tasks_total", task="testsvc.works", state="succeeded")
    timed = value("celery_task_duration_seconds_count", task="testsvc.works")
    failed = value("celery_tasks_total", task="testsvc.fails", state="failed")
    works.apply()
    works.apply()
    fails.apply()
    assert value("celery_tasks_total", task="testsvc.works", state="succeeded") == ok + 2
    assert value("celery_task_duration_seconds_count", task="testsvc.works") == timed + 2
    assert value("celery_tasks_total", task="testsvc.fails", state="failed") == failed + 1


# --- gunicorn ---


def test_each_start_of_gunicorn_begins_with_no_old_metric_files(tmp_path, monkeypatch):
    directory = tmp_path / "web"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    gunicorn_conf.on_starting(server=None)
    assert directory.is_dir()
    (directory / "counter_123.db").write_bytes(b"old")
    (directory / "notes.txt").write_text("not ours")
    gunicorn_conf.on_starting(server=None)
    assert sorted(p.name for p in directory.iterdir()) == ["notes.txt"]
    gunicorn_conf.child_exit(server=None, worker=SimpleNamespace(pid=123))  # no error


def test_without_the_directory_the_hooks_do_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    gunicorn_conf.on_starting(server=None)
    gunicorn_conf.child_exit(server=None, worker=SimpleNamespace(pid=1))
    assert list(Path(tmp_path).iterdir()) == []
