"""What DATABASE_URL makes of a service's database: dj-database-url reads the URL, the platform
adds persistent connections with health checks, and a SQLite file gets the settings several
processes sharing it need."""

from pathlib import Path

import pytest

from shared_events.kit.service_settings import configure, database_from_url, sqlite_database


def test_a_postgres_url_gives_persistent_checked_connections(monkeypatch):
    monkeypatch.delenv("DB_CONN_MAX_AGE", raising=False)
    database = database_from_url("postgres://postgres@127.0.0.1:5432/voting?sslmode=prefer")
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["NAME"], database["USER"], database["PASSWORD"]) == ("voting", "postgres", "")
    assert (database["HOST"], str(database["PORT"])) == ("127.0.0.1", "5432")
    assert database["OPTIONS"] == {"sslmode": "prefer"}
    assert (database["CONN_MAX_AGE"], database["CONN_HEALTH_CHECKS"]) == (60, True)


def test_db_conn_max_age_sets_how_long_a_connection_is_kept(monkeypatch):
    monkeypatch.setenv("DB_CONN_MAX_AGE", "0")
    assert database_from_url("postgresql://u@db/polls")["CONN_MAX_AGE"] == 0


def test_percent_encoded_parts_are_decoded_and_a_socket_directory_is_a_host():
    database = database_from_url("postgres://us%40er:p%3Ass%2Fw@%2Fvar%2Frun%2Fpostgresql/poll%20s")
    assert database["HOST"] == "/var/run/postgresql"
    assert (database["USER"], database["PASSWORD"], database["NAME"]) == (
        "us@er",
        "p:ss/w",
        "poll s",
    )


def test_a_sqlite_url_gets_the_settings_of_a_shared_file(tmp_path: Path):
    path = tmp_path / "accounts.sqlite3"
    assert database_from_url(f"sqlite:///{path}") == sqlite_database(path)


def test_a_database_the_platform_does_not_run_on_is_refused():
    with pytest.raises(ValueError, match="mysql"):
        database_from_url("mysql://u@db/accounts")


def test_without_database_url_a_service_runs_on_its_own_sqlite_file(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    ns: dict = {}
    configure(ns, service="polls", base_dir=tmp_path / "polls_service", apps=[])
    database = ns["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == str((tmp_path / "var" / "polls.sqlite3").resolve())
