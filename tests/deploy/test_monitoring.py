"""The monitoring component (kustomize/components/monitoring): the alerts run through promtool
(its syntax check and the unit tests in prometheus-rules.test.yaml, each alert seen firing and
silent), every metric the alerts and the dashboard name is one the code exports, Prometheus
scrapes every role of every service, NATS and the databases, and the network policies let it
reach the metrics ports and nothing else."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.deploy import manifests
from tests.deploy.manifests import SERVICES, matches

try:
    import promql_parser
except ImportError:  # pragma: no cover - a dev dependency (requirements/dev.txt)
    promql_parser = None

COMPONENT = manifests.KUSTOMIZE / "components" / "monitoring"
RULE_FILE = COMPONENT / "prometheus-rule.yaml"
DASHBOARD = COMPONENT / "dashboards" / "charity-vote.json"
RULE_TESTS = Path(__file__).parent / "prometheus-rules.test.yaml"
SCHEMAS = Path(__file__).parent / "schemas"

# What issue 18 asks the alerts to watch: an outbox's oldest event past 60 s, a consumer's lag
# growing for 5 minutes, any dead letter, a relay failing, JetStream unavailable, a poll past
# closes_at not finalized within 5 minutes, the chain source stale for more than an epoch.
ALERTS = {
    "OutboxEventStuck",
    "ConsumerLagGrowing",
    "EventDeadLettered",
    "OutboxRelayFailing",
    "JetStreamUnavailable",
    "PollNotFinalized",
    "ChainSourceStale",
    # ... and one that says when the others are blind: a service's beat not scraped.
    "ServiceMetricsMissing",
}
# The modules that define the metrics (the contract with the monitoring component).
METRICS_MODULES = {
    "shared_events/shared_events/core/metrics.py": "shared_events.core.metrics",
    "shared_events/shared_events/kit/metrics.py": "shared_events.kit.metrics",
    "accounts_service/accounts/metrics.py": "accounts.metrics",
    "polls_service/polls/metrics.py": "polls.metrics",
    "voting_service/voting/metrics.py": "voting.metrics",
}
# Prometheus as the README installs it: its pods in the namespace `monitoring`, labelled
# charity-vote/monitoring=true.
MONITORING_NAMESPACE = {
    "kubernetes.io/metadata.name": "monitoring",
    "charity-vote/monitoring": "true",
}
PROMETHEUS = manifests.Endpoint(
    "monitoring/prometheus",
    MONITORING_NAMESPACE,
    {"app.kubernetes.io/name": "prometheus"},
    inside=False,
)


# ---------------------------------------------------------------------------- promtool --


def promtool() -> str:
    exe = shutil.which("promtool")
    if exe:
        return exe
    reason = (
        "promtool is not installed: the alerts cannot be checked "
        "(apt-get install prometheus, Debian's package, brings it; .ci/run installs it)"
    )
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must have it")
    pytest.skip(reason)


def rule_groups() -> list[dict]:
    return manifests.load_yaml(RULE_FILE)["spec"]["groups"]


def alerts(groups: list[dict]) -> dict[str, dict]:
    return {r["alert"]: r for g in groups for r in g["rules"] if "alert" in r}


def run_rule_tests(tmp_path: Path, groups: list[dict]) -> subprocess.CompletedProcess:
    """`promtool test rules` with prometheus-rules.test.yaml on these rule groups."""
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    return subprocess.run(
        [promtool(), "test", "rules", RULE_TESTS.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_alerts_are_the_ones_asked_for():
    assert set(alerts(rule_groups())) == ALERTS
    for name, rule in alerts(rule_groups()).items():
        assert rule["labels"]["severity"] in ("warning", "critical"), name
        assert {"summary", "description"} <= set(rule["annotations"]), name


def test_the_chain_source_threshold_is_one_mainnet_epoch():
    rule = alerts(rule_groups())["ChainSourceStale"]
    assert rule["expr"].endswith(f"> {5 * 24 * 3600}"), rule["expr"]
    assert "5 days" in rule["labels"]["threshold"]


def test_promtool_checks_the_rules(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": rule_groups()}, sort_keys=False))
    proc = subprocess.run(
        [promtool(), "check", "rules", str(rules)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in proc.stdout


def test_promtool_unit_tests_of_the_alerts_pass(tmp_path):
    proc = run_rule_tests(tmp_path, rule_groups())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


@pytest.mark.parametrize("alert", sorted(ALERTS))
def test_each_alert_is_tested_firing_and_silent(tmp_path, alert):
    """The unit tests are not vacuous for any alert: they fail when it never fires (so a test
    expects it to fire) and when it always fires (so a test expects it to stay silent)."""
    for expr in ("vector(1) == 0", "vector(1)"):
        groups = copy.deepcopy(rule_groups())
        alerts(groups)[alert]["expr"] = expr
        proc = run_rule_tests(tmp_path, groups)
        assert proc.returncode != 0, (
            f"{alert} with the expression {expr!r}: promtool's unit tests still pass"
        )


def test_the_rendered_rule_is_the_component_s(prod):
    assert (
        prod.get("PrometheusRule", "charity-vote")["spec"] == manifests.load_yaml(RULE_FILE)["spec"]
    )


# ------------------------------------------------------------------------- metric names --


def exported_metric_names() -> set[str]:
    """Every series name the code's metrics modules export, read from prometheus_client's
    registry after importing them (in a fresh interpreter: no Django, nothing else loaded)."""
    missing = [path for path in METRICS_MODULES if not (manifests.ROOT / path).is_file()]
    assert not missing, f"the metrics modules of the contract are missing: {missing}"
    found = sorted(
        str(p.relative_to(manifests.ROOT)) for p in manifests.ROOT.glob("*_service/*/metrics.py")
    )
    assert set(found) <= set(METRICS_MODULES), f"metrics modules not listed here: {found}"
    script = """
import importlib, json, sys
from prometheus_client import REGISTRY
sys.path[:0] = sys.argv[2:]
for module in json.loads(sys.argv[1]):
    importlib.import_module(module)
suffixes = {"counter": ["_total", "_created"], "histogram": ["_bucket", "_sum", "_count",
            "_created"], "summary": ["", "_sum", "_count", "_created"], "info": ["_info"]}
names = set()
for family in REGISTRY.collect():
    for suffix in suffixes.get(family.type, [""]):
        names.add(family.name + suffix)
print(json.dumps(sorted(names)))
"""
    paths = [str(manifests.ROOT / "shared_events")] + [
        str(manifests.ROOT / f"{s}_service") for s in SERVICES
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("PROMETHEUS_MULTIPROC_DIR",)}
    proc = subprocess.run(
        [sys.executable, "-c", script, json.dumps(list(METRICS_MODULES.values())), *paths],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=manifests.ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout))


def promql_metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects, read by a PromQL parser. Grafana's
    interval variables stand for a duration; its other variables appear inside label values."""
    if promql_parser is None:
        pytest.fail("promql-parser is missing: pip install -r requirements/dev.txt")
    expr = re.sub(r"\$__\w+|\$\{__\w+\}", "5m", expr)
    names: set[str] = set()

    def walk(node) -> None:
        kind = type(node).__name__
        if kind == "VectorSelector":
            assert node.name, f"a selector without a metric name in {expr!r}"
            names.add(node.name)
        elif kind == "MatrixSelector":
            walk(node.vector_selector)
        elif kind == "Call":
            for arg in node.args:
                walk(arg)
        elif kind == "AggregateExpr":
            walk(node.expr)
            if node.param is not None:
                walk(node.param)
        elif kind == "BinaryExpr":
            walk(node.lhs)
            walk(node.rhs)
        elif kind in ("ParenExpr", "UnaryExpr", "SubqueryExpr"):
            walk(node.expr)
        else:
            assert kind in ("NumberLiteral", "StringLiteral"), f"{kind} in {expr!r}"

    walk(promql_parser.parse(expr))
    return names


def dashboard_queries(dashboard: dict) -> list[str]:
    """Every PromQL expression of the dashboard: its panels' (rows' too) and its variables'."""
    queries = []

    def panels(items):
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))

    for panel in panels(dashboard["panels"]):
        queries += [t["expr"] for t in panel.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] != "query":
            continue
        query = (
            variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
        )
        m = re.fullmatch(r"label_values\((.+),\s*\w+\)", query)
        assert m, f"variable {variable['name']}: {query}"
        queries.append(m[1])
    return queries


def test_the_promql_reader_finds_every_selected_metric():
    expr = (
        'histogram_quantile(0.95, sum by (le) (rate(a_bucket{x="$y"}[$__rate_interval]))) '
        "/ on (s) -max(b offset 5m) > 0 and deriv(c[5m]) or min_over_time(d[5m:30s])"
    )
    assert promql_metric_names(expr) == {"a_bucket", "b", "c", "d"}


def test_every_metric_the_alerts_and_the_dashboard_name_is_exported():
    exported = exported_metric_names()
    # Counters export <name>_total, not <name>: the collection reads the registry as scraped.
    assert "outbox_events_published_total" in exported
    assert "outbox_events_published" not in exported
    named = {}
    for name, rule in alerts(rule_groups()).items():
        named[f"alert {name}"] = promql_metric_names(rule["expr"])
    for i, query in enumerate(dashboard_queries(json.loads(DASHBOARD.read_text()))):
        named[f"dashboard query {i}: {query}"] = promql_metric_names(query)
    unknown = {
        where: sorted(names - exported) for where, names in named.items() if names - exported
    }
    assert not unknown, "names no metrics module exports:\n" + "\n".join(
        f"  {where}: {names}" for where, names in unknown.items()
    )


def test_the_dashboard_shows_the_pipeline_the_api_and_the_rounds():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "charity-vote"
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert rows == [
        "Pipeline: outbox and publish",
        "Pipeline: consumers and replication",
        "API",
        "Rounds",
    ]
    shown = set().union(*(promql_metric_names(q) for q in dashboard_queries(dashboard)))
    assert {
        "outbox_pending_events",
        "outbox_oldest_pending_age_seconds",
        "outbox_events_published_total",
        "outbox_publish_duration_seconds_bucket",
        "consumer_lag_events",
        "consumer_events_applied_total",
        "consumer_apply_duration_seconds_bucket",
        "replication_lag_seconds_bucket",
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "ballots_total",
    } <= shown
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids repeat"


def test_grafana_s_sidecar_finds_the_dashboard(prod):
    cm = prod.get("ConfigMap", "grafana-dashboard-charity-vote")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert cm["data"] == {"charity-vote.json": DASHBOARD.read_text()}


# ------------------------------------------------------------------ custom resources --


def test_the_monitoring_schemas_reject_mistakes(prod):
    """The vendored schemas (test_render.py validates every rendered object with them) would
    catch a misspelt field, a wrong type or a bad duration."""
    monitor = prod.get("PodMonitor", "accounts-web")
    rule = prod.get("PrometheusRule", "charity-vote")
    pod_monitor = json.loads((SCHEMAS / "monitoring.coreos.com_v1_PodMonitor.json").read_text())
    prometheus_rule = json.loads(
        (SCHEMAS / "monitoring.coreos.com_v1_PrometheusRule.json").read_text()
    )
    cases = [
        (pod_monitor, monitor, lambda s: s.update(podMetricEndpoints=s.pop("podMetricsEndpoints"))),
        (pod_monitor, monitor, lambda s: s.pop("selector")),
        (pod_monitor, monitor, lambda s: s["podMetricsEndpoints"][0].update(interval="30 s")),
        (pod_monitor, monitor, lambda s: s["podMetricsEndpoints"][0].update(portNumber=0)),
        (pod_monitor, monitor, lambda s: s["podMetricsEndpoints"][0].update(scheme="tcp")),
        (pod_monitor, monitor, lambda s: s["selector"].update(matchExpressions=[{"key": "a"}])),
        (prometheus_rule, rule, lambda s: s["groups"][0]["rules"][0].update(fr="5m")),
        (prometheus_rule, rule, lambda s: s["groups"][0]["rules"][0].pop("expr")),
        (prometheus_rule, rule, lambda s: s["groups"][0]["rules"][0].update(record="x")),
        (prometheus_rule, rule, lambda s: s["groups"][0]["rules"][0].update({"for": "5 min"})),
        (prometheus_rule, rule, lambda s: s["groups"][0].pop("name")),
    ]
    for schema, obj, mutate in cases:
        validator = jsonschema.Draft202012Validator(schema)
        assert validator.is_valid(obj)
        broken = copy.deepcopy(obj)
        mutate(broken["spec"])
        assert not validator.is_valid(broken), f"{schema['title']} accepts {broken['spec']}"


# ------------------------------------------------------------------------------ scraping --


def scraped(prod) -> list[tuple[manifests.Pod, dict, dict]]:
    """(pod, PodMonitor, its endpoint) for every pod a PodMonitor selects."""
    found = []
    for pod in manifests.pods(prod):
        covering = [
            m for m in prod.of_kind("PodMonitor") if matches(m["spec"]["selector"], pod.labels)
        ]
        assert len(covering) <= 1, f"{pod.owner} is scraped by {len(covering)} PodMonitors"
        if covering:
            endpoints = covering[0]["spec"]["podMetricsEndpoints"]
            assert len(endpoints) == 1, covering[0]["metadata"]["name"]
            found.append((pod, covering[0], endpoints[0]))
    return found


def metrics_port(pod: manifests.Pod, endpoint: dict) -> int:
    """The port number of the named port a PodMonitor scrapes (CloudNativePG's instances: the
    operator names 9187 `metrics`)."""
    if pod.spec is None:
        assert endpoint["port"] == "metrics"
        return 9187
    ports = {p["name"]: p["containerPort"] for c in pod.containers for p in c.get("ports", [])}
    assert endpoint["port"] in ports, f"{pod.owner} has no port {endpoint['port']}"
    return ports[endpoint["port"]]


def test_every_role_of_every_service_nats_and_the_databases_are_scraped(prod):
    found = scraped(prod)
    owners = {pod.owner for pod, _, _ in found}
    wanted = {
        f"{manifests.workload_kind(role)}/{s}-{role}" for s in SERVICES for role in manifests.ROLES
    }
    wanted |= {"StatefulSet/nats"} | {f"Cluster/{s}-db" for s in SERVICES}
    assert owners == wanted
    for pod, monitor, endpoint in found:
        where = f"PodMonitor {monitor['metadata']['name']} -> {pod.owner}"
        if pod.service:
            # The platform's own: the web port and path, or the role's own metrics port.
            if pod.role == "web":
                assert (endpoint["port"], endpoint["path"]) == ("http", f"/{pod.service}/metrics")
            else:
                assert (endpoint["port"], endpoint["path"]) == ("metrics", "/metrics"), where
                container = manifests.main_container(pod)
                env = manifests.container_env(prod, container)
                assert env.get("METRICS_PORT") == str(metrics_port(pod, endpoint)), (
                    f"{where}: METRICS_PORT {env.get('METRICS_PORT')} is not the port scraped"
                )
            relabel = endpoint["relabelings"]
            assert {
                "sourceLabels": ["__meta_kubernetes_pod_label_app_kubernetes_io_component"],
                "targetLabel": "role",
            } in relabel, where
        metrics_port(pod, endpoint)
        assert endpoint["interval"] == "30s", where


def test_the_nats_exporter_reads_its_own_server(prod):
    nats = next(p for p in manifests.pods(prod) if p.owner == "StatefulSet/nats")
    assert [c["name"] for c in nats.containers] == ["nats", "metrics"]
    exporter = nats.containers[1]
    http_port = int(manifests.nats_value(manifests.nats_conf(prod), "http_port"))
    server_ports = {p["name"]: p["containerPort"] for p in nats.containers[0]["ports"]}
    assert server_ports["monitor"] == http_port
    args = exporter["args"]
    assert args[-1] == f"http://localhost:{http_port}"
    assert f"-port={exporter['ports'][0]['containerPort']}" in args
    assert "-jsz=all" in args and "-varz" in args
    assert exporter["ports"] == [{"name": "metrics", "containerPort": 7777}]
    # The pod's readiness is the server's: a broken exporter must not empty the Service.
    assert "readinessProbe" not in exporter and "livenessProbe" in exporter


def test_prometheus_reaches_the_metrics_ports_and_nothing_else(prod):
    strangers = [
        # Another pod of Prometheus's namespace, Prometheus in an unlabelled namespace.
        manifests.Endpoint(
            "monitoring/grafana",
            MONITORING_NAMESPACE,
            {"app.kubernetes.io/name": "grafana"},
            inside=False,
        ),
        manifests.outside("monitoring", {"app.kubernetes.io/name": "prometheus"}),
    ]
    for pod, _, endpoint in scraped(prod):
        dst = manifests.endpoint(prod, pod)
        port = metrics_port(pod, endpoint)
        assert manifests.connection_allowed(prod, PROMETHEUS, dst, port), (
            f"Prometheus cannot scrape {pod.owner} on {port}"
        )
        for stranger in strangers:
            assert not manifests.connection_allowed(prod, stranger, dst, port), (
                f"{stranger.name} reaches {pod.owner} on {port}"
            )
        others = (set(dst.named_ports.values()) | {4222, 5432, 6222, 8000, 8222, 9100}) - {port}
        for other in others:
            assert not manifests.direction_allows(
                prod, dst, PROMETHEUS, "ingress", other, "TCP", dst
            ), f"Prometheus reaches {pod.owner} on {other}"


def test_each_scrape_policy_allows_one_peer_on_one_port(prod):
    policies = [p for p in prod.of_kind("NetworkPolicy") if manifests.is_scrape_policy(p)]
    assert len(policies) == 4
    peer = {
        "namespaceSelector": {"matchLabels": {"charity-vote/monitoring": "true"}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
    }
    for policy in policies:
        spec = policy["spec"]
        assert spec["policyTypes"] == ["Ingress"], policy["metadata"]["name"]
        assert len(spec["ingress"]) == 1 and spec["ingress"][0]["from"] == [peer]
        assert len(spec["ingress"][0]["ports"]) == 1
