"""Reading rendered kustomize output: objects, their pods and containers, selectors, env.

No Kubernetes client and no cluster: everything here works on the YAML `kubectl kustomize`
prints, as plain dicts.
"""

from __future__ import annotations

import base64
import functools
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
KUSTOMIZE = ROOT / "kustomize"
OVERLAYS = ("dev", "prod")
SERVICES = ("accounts", "polls", "voting")
ROLES = ("web", "worker", "beat", "consumer")


def workload_kind(role: str) -> str:
    """The consumer is a StatefulSet (an ordinal per replica picks its partitions)."""
    return "StatefulSet" if role == "consumer" else "Deployment"


# The Kubernetes versions these manifests support, and are validated against (the schemas that
# kubernetes-validate ships, requirements/dev.txt).
KUBERNETES_VERSIONS = ("1.35", "1.36", "1.37")
PLATFORM_IMAGE = "charity-vote"
APP_UID = 10001

Obj = dict[str, Any]


@dataclass(frozen=True)
class Render:
    target: str
    objects: list[Obj]
    stderr: str
    returncode: int

    def of_kind(self, *kinds: str) -> list[Obj]:
        return [o for o in self.objects if o["kind"] in kinds]

    def get(self, kind: str, name: str) -> Obj:
        found = [o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name]
        assert found, f"{self.target}: no {kind} {name}"
        return found[0]

    def find(self, kind: str, name: str) -> Obj | None:
        for o in self.objects:
            if o["kind"] == kind and o["metadata"]["name"] == name:
                return o
        return None

    def by_original_name(self, kind: str, name: str) -> Obj | None:
        """A generated ConfigMap or Secret by its name before kustomize's hash suffix."""
        for o in self.objects:
            if o["kind"] == kind and (
                o["metadata"]["name"] == name or o["metadata"]["name"].rsplit("-", 1)[0] == name
            ):
                return o
        return None


def kubectl() -> str | None:
    return shutil.which("kubectl")


# What an operator writes in overlays/prod/site.yaml (the committed one sets nothing, so prod
# does not build from it): the tests render prod from a copy of kustomize/ with these values.
TEST_SITE = {
    "host": "vote.test.example",
    "image": "registry.test.example/charity-vote@sha256:" + "4f" * 32,
    "gatewayClassName": "test-gateway-class",
    "backup-destination": "s3://test-backups/charity-vote",
    "nats-exporter-image": "natsio/prometheus-nats-exporter:0.17.3@sha256:" + "5e" * 32,
}


def write_site(tree: Path, values: dict[str, str]) -> None:
    """overlays/prod/site.yaml of a copy of kustomize/, with `values` set."""
    site = tree / "overlays" / "prod" / "site.yaml"
    doc = yaml.safe_load(site.read_text())
    doc["data"] = dict(values)
    site.write_text(yaml.safe_dump(doc, sort_keys=False))


def copy_tree(dst: Path) -> Path:
    """A copy of kustomize/ under `dst` (kustomize resolves ../.. inside it)."""
    tree = dst / "kustomize"
    shutil.copytree(KUSTOMIZE, tree)
    return tree


@functools.cache
def site_tree() -> Path:
    """kustomize/ as it is, with TEST_SITE in prod's site.yaml; removed when the tests end."""
    import atexit
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="charity-vote-kustomize-"))
    atexit.register(shutil.rmtree, root, True)
    tree = copy_tree(root)
    write_site(tree, TEST_SITE)
    return tree


def kustomize(path: Path) -> subprocess.CompletedProcess:
    """`kubectl kustomize <path>`."""
    exe = kubectl()
    assert exe, "kubectl is not installed"
    return subprocess.run(
        [exe, "kustomize", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )


def render_path(path: Path, target: str | None = None) -> Render:
    proc = kustomize(path)
    objects = [o for o in yaml.safe_load_all(proc.stdout) if o] if proc.returncode == 0 else []
    return Render(target or str(path), objects, proc.stderr, proc.returncode)


@functools.cache
def render(target: str) -> Render:
    """`kubectl kustomize kustomize/<target>` (target: base, overlays/dev, overlays/prod), prod
    with TEST_SITE."""
    return render_path(site_tree() / target, target)


# --------------------------------------------------------------------------------- pods --


@dataclass
class Pod:
    """The pods one object makes: a workload's template, or what CloudNativePG creates."""

    owner: str  # e.g. "Deployment/accounts-web"
    labels: dict[str, str]
    spec: Obj | None  # None for pods an operator creates (we know only their labels)
    replicas: int | None = None
    workload: Obj = field(default_factory=dict)

    @property
    def containers(self) -> list[Obj]:
        return list((self.spec or {}).get("containers", []))

    @property
    def init_containers(self) -> list[Obj]:
        return list((self.spec or {}).get("initContainers", []))

    @property
    def all_containers(self) -> list[Obj]:
        return self.init_containers + self.containers

    @property
    def service(self) -> str | None:
        """accounts / polls / voting for the platform's own pods."""
        name = self.labels.get("app.kubernetes.io/name")
        return name if name in SERVICES else None

    @property
    def role(self) -> str | None:
        return self.labels.get("app.kubernetes.io/component")


def pods(r: Render) -> list[Pod]:
    found = []
    for o in r.of_kind("Deployment", "StatefulSet"):
        template = o["spec"]["template"]
        found.append(
            Pod(
                f"{o['kind']}/{o['metadata']['name']}",
                dict(template["metadata"].get("labels", {})),
                template["spec"],
                o["spec"].get("replicas"),
                o,
            )
        )
    for o in r.of_kind("Cluster"):  # CloudNativePG: instance pods carry inheritedMetadata
        labels = dict(o["spec"].get("inheritedMetadata", {}).get("labels", {}))
        labels["cnpg.io/cluster"] = o["metadata"]["name"]
        found.append(
            Pod(f"Cluster/{o['metadata']['name']}", labels, None, o["spec"]["instances"], o)
        )
    return found


def app_pods(r: Render) -> list[Pod]:
    return [p for p in pods(r) if p.service]


def app_pod(r: Render, service: str, role: str) -> Pod:
    matching = [p for p in app_pods(r) if p.service == service and p.role == role]
    assert len(matching) == 1, f"{r.target}: {len(matching)} pods for {service} {role}"
    return matching[0]


def main_container(pod: Pod) -> Obj:
    """A pod's only container, or the one named like the pod beside its sidecars (NATS's
    server beside the monitoring component's exporter)."""
    if len(pod.containers) == 1:
        return pod.containers[0]
    named = [c for c in pod.containers if c["name"] == pod.labels.get("app.kubernetes.io/name")]
    assert len(named) == 1, f"{pod.owner}: no main container among {len(pod.containers)}"
    return named[0]


# ----------------------------------------------------------------------------- selectors --


def matches(selector: Obj | None, labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels/matchExpressions) or a Service's plain map."""
    if selector is None:
        return False
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        selector = {"matchLabels": selector}  # a Service's selector
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def selector_of(o: Obj) -> Obj | None:
    kind, spec = o["kind"], o.get("spec", {})
    if kind in ("Deployment", "StatefulSet", "PodDisruptionBudget"):
        return spec.get("selector")
    if kind == "Service":
        return spec.get("selector")
    if kind == "NetworkPolicy":
        return spec.get("podSelector")
    return None


# ------------------------------------------------------------------------------ secrets --


def secret_refs(pod: Pod) -> set[str]:
    """Every Secret a pod's containers or volumes name."""
    names = set()
    for c in pod.all_containers:
        for src in c.get("envFrom", []):
            if "secretRef" in src:
                names.add(src["secretRef"]["name"])
        for var in c.get("env", []):
            ref = var.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                names.add(ref["name"])
    for volume in (pod.spec or {}).get("volumes", []):
        if "secret" in volume:
            names.add(volume["secret"]["secretName"])
        for source in volume.get("projected", {}).get("sources", []):
            if "secret" in source:
                names.add(source["secret"]["name"])
    return names


_HASH = re.compile(r"-[bcdfghjklmnpqrstvwxz2456789]{10}$")


def base_name(r: Render, kind: str, name: str) -> str:
    """A generated ConfigMap's or Secret's name without kustomize's hash suffix."""
    return _HASH.sub("", name) if r.find(kind, name) is not None else name


def secret_data(r: Render, name: str) -> dict[str, str] | None:
    o = r.find("Secret", name)
    if o is None:
        return None
    data = {k: base64.b64decode(v).decode() for k, v in (o.get("data") or {}).items()}
    data.update(o.get("stringData") or {})
    return data


def configmap_data(r: Render, name: str) -> dict[str, str] | None:
    o = r.find("ConfigMap", name)
    return None if o is None else dict(o.get("data") or {})


class Unresolved(str):
    """A value from an object the render does not hold (a Secret created outside it)."""


def container_env(
    r: Render, container: Obj, external_secrets: dict[str, dict[str, str]] | None = None
) -> dict[str, str]:
    """The environment a container starts with, as Kubernetes builds it (envFrom, then env).
    Secrets that the render does not hold come from `external_secrets`, else Unresolved."""
    external_secrets = external_secrets or {}
    env: dict[str, str] = {}

    def secret(name: str) -> dict[str, str] | None:
        data = secret_data(r, name)
        return data if data is not None else external_secrets.get(name)

    for src in container.get("envFrom", []):
        if "configMapRef" in src:
            data = configmap_data(r, src["configMapRef"]["name"])
            assert data is not None, f"ConfigMap {src['configMapRef']['name']} is not rendered"
            env.update(data)
        elif "secretRef" in src:
            data = secret(src["secretRef"]["name"])
            if data is None:
                env[f"<all of Secret {src['secretRef']['name']}>"] = Unresolved("")
            else:
                env.update(data)
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
            continue
        ref = var.get("valueFrom", {})
        if "secretKeyRef" in ref:
            data = secret(ref["secretKeyRef"]["name"])
            key = ref["secretKeyRef"]["key"]
            env[var["name"]] = (data or {}).get(key, Unresolved(f"{ref['secretKeyRef']}"))
        elif "configMapKeyRef" in ref:
            data = configmap_data(r, ref["configMapKeyRef"]["name"]) or {}
            env[var["name"]] = data[ref["configMapKeyRef"]["key"]]
        elif "fieldRef" in ref:
            env[var["name"]] = Unresolved(ref["fieldRef"]["fieldPath"])
    return env


def env_names(r: Render, container: Obj) -> set[str]:
    """The names of the variables a container gets (values need not be resolvable)."""
    names = {v["name"] for v in container.get("env", [])}
    for src in container.get("envFrom", []):
        if "configMapRef" in src:
            names |= set(configmap_data(r, src["configMapRef"]["name"]) or {})
        elif "secretRef" in src:
            names |= set(secret_data(r, src["secretRef"]["name"]) or {})
    return names


def iter_images(r: Render) -> Iterator[tuple[str, str]]:
    """(where, image) for every image a rendered object runs."""
    for pod in pods(r):
        for c in pod.all_containers:
            yield f"{pod.owner}/{c['name']}", c["image"]
        if pod.owner.startswith("Cluster/") and pod.workload["spec"].get("imageName"):
            yield pod.owner, pod.workload["spec"]["imageName"]


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


# ---------------------------------------------------------------------- network policies --


@dataclass
class Endpoint:
    """A pod as a NetworkPolicy sees it: its namespace's labels, its own labels and its named
    ports. `inside` is True for the render's own pods (the policies here apply to them only)."""

    name: str
    namespace_labels: dict[str, str]
    labels: dict[str, str]
    named_ports: dict[str, int] = field(default_factory=dict)
    inside: bool = True


def namespace_labels(r: Render) -> dict[str, str]:
    """The labels of the overlay's namespace, with the one Kubernetes sets on every namespace."""
    namespaces = r.of_kind("Namespace")
    assert len(namespaces) == 1, f"{r.target}: {len(namespaces)} Namespaces"
    ns = namespaces[0]["metadata"]
    return {**ns.get("labels", {}), "kubernetes.io/metadata.name": ns["name"]}


def endpoint(r: Render, pod: Pod) -> Endpoint:
    ports = {
        p["name"]: p["containerPort"]
        for c in pod.containers
        for p in c.get("ports", [])
        if p.get("name")
    }
    return Endpoint(pod.owner, namespace_labels(r), pod.labels, ports)


def outside(namespace: str, labels: dict[str, str]) -> Endpoint:
    """A pod of another namespace (the cluster DNS, the ingress controller, anything)."""
    return Endpoint(
        f"{namespace}/{labels}", {"kubernetes.io/metadata.name": namespace}, labels, inside=False
    )


KUBE_DNS = outside("kube-system", {"k8s-app": "kube-dns"})


def peer_matches(peer: Obj, ep: Endpoint, own_namespace: dict[str, str]) -> bool:
    if "ipBlock" in peer:
        return True  # any pod's IP may be in it: the reading that keeps closed what must be
    if "namespaceSelector" in peer:
        if not matches(peer["namespaceSelector"] or {"matchLabels": {}}, ep.namespace_labels):
            return False
    elif ep.namespace_labels != own_namespace:
        return False  # a podSelector alone selects pods of the policy's own namespace
    return "podSelector" not in peer or matches(
        peer["podSelector"] or {"matchLabels": {}}, ep.labels
    )


def port_matches(rule_ports: list[Obj] | None, port: int, protocol: str, dst: Endpoint) -> bool:
    if not rule_ports:
        return True  # no ports: every port
    for p in rule_ports:
        if p.get("protocol", "TCP") != protocol:
            continue
        want = p.get("port")
        if want is None:
            return True
        if isinstance(want, str):  # a named port is the destination pod's
            want = dst.named_ports.get(want)
        if want is not None and want <= port <= p.get("endPort", want):
            return True
    return False


def is_scrape_policy(policy: Obj) -> bool:
    """A NetworkPolicy of the monitoring component (Prometheus to the metrics ports)."""
    return policy["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "monitoring"


def policy_types(policy: Obj) -> list[str]:
    spec = policy["spec"]
    return spec.get("policyTypes") or (["Ingress"] + (["Egress"] if "egress" in spec else []))


def direction_allows(
    r: Render,
    subject: Endpoint,
    peer: Endpoint,
    direction: str,
    port: int,
    protocol: str,
    dst: Endpoint,
) -> bool:
    """Whether the policies that select `subject` let it send to (egress) or accept from
    (ingress) `peer` on `port`. A pod no policy selects in that direction is not isolated."""
    if not subject.inside:
        return True  # another namespace's policies are not ours to know
    own = namespace_labels(r)
    key = "to" if direction == "egress" else "from"
    isolating = [
        p
        for p in r.of_kind("NetworkPolicy")
        if direction.capitalize() in policy_types(p)
        and matches(p["spec"]["podSelector"] or {"matchLabels": {}}, subject.labels)
    ]
    if not isolating:
        return True
    for policy in isolating:
        for rule in policy["spec"].get(direction) or []:
            peers = rule.get(key) or []
            if (not peers or any(peer_matches(x, peer, own) for x in peers)) and port_matches(
                rule.get("ports"), port, protocol, dst
            ):
                return True
    return False


def connection_allowed(
    r: Render, src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP"
) -> bool:
    """src may open a connection to dst's `port`: src's egress and dst's ingress both allow it."""
    return direction_allows(r, src, dst, "egress", port, protocol, dst) and direction_allows(
        r, dst, src, "ingress", port, protocol, dst
    )


def service_backend(r: Render, url: str) -> tuple[Pod, int]:
    """The pod and container port that a URL like redis://redis:6379/0 reaches through its
    Service (NetworkPolicies see the pod's port, after the Service's translation)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    svc = r.get("Service", parts.hostname)
    port = next(p for p in svc["spec"]["ports"] if p["port"] == parts.port)
    selected = [p for p in pods(r) if matches(svc["spec"]["selector"], p.labels)]
    assert len({p.owner for p in selected}) == 1, f"Service {parts.hostname}: {selected}"
    target = port.get("targetPort", port["port"])
    if isinstance(target, str):
        target = next(
            cp["containerPort"]
            for c in selected[0].containers
            for cp in c.get("ports", [])
            if cp.get("name") == target
        )
    return selected[0], target


# ------------------------------------------------------------------ sizes, configuration --

_NATS_UNITS = {
    "": 1,
    "K": 1000,
    "KB": 1024,
    "KIB": 1024,
    "M": 1000**2,
    "MB": 1024**2,
    "MIB": 1024**2,
    "G": 1000**3,
    "GB": 1024**3,
    "GIB": 1024**3,
    "T": 1000**4,
    "TB": 1024**4,
    "TIB": 1024**4,
}
_QUANTITY_UNITS = {
    "": 1,
    "k": 1000,
    "M": 1000**2,
    "G": 1000**3,
    "T": 1000**4,
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "Ti": 1024**4,
}


def nats_size(value: str) -> int:
    """A size in nats.conf: 1K is 1000, 1KB 1024 (case-insensitive; checked with nats-server)."""
    m = re.fullmatch(r"(\d+)\s*([A-Za-z]*)", value.strip())
    assert m, f"not a NATS size: {value!r}"
    return int(m[1]) * _NATS_UNITS[m[2].upper()]


def quantity(value: str | int) -> int:
    """A Kubernetes quantity of bytes: 10Gi, 512Mi, 2G, 1000."""
    m = re.fullmatch(r"(\d+)([A-Za-z]*)", str(value))
    assert m and m[2] in _QUANTITY_UNITS, f"not a byte quantity: {value!r}"
    return int(m[1]) * _QUANTITY_UNITS[m[2]]


def nats_without_comments(conf: str) -> str:
    """nats.conf without its # and // comments (a // that starts no comment: nats://...)."""
    return re.sub(r"(^|\s)(#|//).*", r"\1", conf, flags=re.M)


def nats_block(conf: str, name: str) -> str | None:
    """The text of a top-level block of nats.conf (`jetstream { ... }`), comments removed."""
    text = nats_without_comments(conf)
    m = re.search(rf"^\s*{name}\s*[:=]?\s*\{{", text, re.M)
    if not m:
        return None
    depth, i = 1, m.end()
    while depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return text[m.end() : i - 1]


def nats_value(block: str, key: str) -> str | None:
    m = re.search(rf"^\s*{key}\s*[:=\s]\s*\"?([^\"\s,]+)\"?", block, re.M)
    return m[1] if m else None


def nats_conf(r: Render) -> str:
    """The rendered nats.conf that the NATS StatefulSet mounts."""
    nats = r.get("StatefulSet", "nats")
    name = next(
        v["configMap"]["name"]
        for v in nats["spec"]["template"]["spec"]["volumes"]
        if v["name"] == "config"
    )
    return configmap_data(r, name)["nats.conf"]


def mount_for(pod: Pod, container: Obj, path: str) -> tuple[Obj, Obj] | None:
    """(volumeMount, volume) of the mount that holds `path` in `container` (the deepest one).
    The volume of a StatefulSet's volumeClaimTemplate is {"persistentVolumeClaim": template}."""
    volumes = {v["name"]: v for v in (pod.spec or {}).get("volumes", [])}
    for t in pod.workload.get("spec", {}).get("volumeClaimTemplates", []):
        volumes.setdefault(
            t["metadata"]["name"], {"name": t["metadata"]["name"], "persistentVolumeClaim": t}
        )
    best = None
    for m in container.get("volumeMounts", []):
        root = m["mountPath"].rstrip("/") or "/"
        if (path == root or path.startswith(root.rstrip("/") + "/")) and (
            best is None or len(root) > len(best["mountPath"].rstrip("/"))
        ):
            best = m
    return (best, volumes.get(best["name"], {})) if best else None
