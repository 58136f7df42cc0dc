"""Every overlay renders with no warning, and every object it renders is valid for the API
server: the Kubernetes API schema of each supported version, strictly (no unknown field), and
the vendored schemas (schemas/) for custom resources."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.deploy import manifests
from tests.deploy.conftest import require_kubectl

try:
    import kubernetes_validate
except ImportError:  # pragma: no cover - a dev dependency (requirements/dev.txt)
    kubernetes_validate = None

SCHEMAS = Path(__file__).parent / "schemas"
# Custom resources: group/version and kind -> the vendored schema.
CUSTOM_RESOURCES = {
    ("postgresql.cnpg.io/v1", "Cluster"): SCHEMAS / "postgresql.cnpg.io_v1_Cluster.json",
    ("gateway.networking.k8s.io/v1", "Gateway"): SCHEMAS
    / "gateway.networking.k8s.io_v1_Gateway.json",
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): SCHEMAS
    / "gateway.networking.k8s.io_v1_HTTPRoute.json",
    ("postgresql.cnpg.io/v1", "ScheduledBackup"): SCHEMAS
    / "postgresql.cnpg.io_v1_ScheduledBackup.json",
    ("barmancloud.cnpg.io/v1", "ObjectStore"): SCHEMAS / "barmancloud.cnpg.io_v1_ObjectStore.json",
    ("cert-manager.io/v1", "Certificate"): SCHEMAS / "cert-manager.io_v1_Certificate.json",
    ("cert-manager.io/v1", "Issuer"): SCHEMAS / "cert-manager.io_v1_Issuer.json",
    ("monitoring.coreos.com/v1", "PodMonitor"): SCHEMAS
    / "monitoring.coreos.com_v1_PodMonitor.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): SCHEMAS
    / "monitoring.coreos.com_v1_PrometheusRule.json",
}


def custom_schema(obj: dict) -> dict | None:
    path = CUSTOM_RESOURCES.get((obj["apiVersion"], obj["kind"]))
    return json.loads(path.read_text()) if path else None


def require_kubernetes_validate() -> None:
    if kubernetes_validate is None:
        pytest.fail(
            "kubernetes-validate is missing: pip install -r requirements/dev.txt "
            "(or python3 manage_all.py setup)"
        )


@pytest.mark.parametrize("target", ["base", *(f"overlays/{o}" for o in manifests.OVERLAYS)])
def test_renders_without_warnings(target):
    require_kubectl()
    r = manifests.render(target)
    assert r.returncode == 0, f"kubectl kustomize {target} failed:\n{r.stderr}"
    assert r.stderr.strip() == "", f"kubectl kustomize {target} warned:\n{r.stderr}"
    assert r.objects


@pytest.mark.parametrize("version", manifests.KUBERNETES_VERSIONS)
def test_every_object_validates_against_the_api_schema(overlay, version):
    require_kubernetes_validate()
    errors = []
    for obj in overlay.objects:
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        schema = custom_schema(obj)
        try:
            if schema is not None:
                jsonschema.Draft202012Validator(schema).validate(obj)
            else:
                kubernetes_validate.validate(obj, version, strict=True)
        except jsonschema.ValidationError as e:
            errors.append(f"{where}: {'.'.join(map(str, e.path))}: {e.message}")
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(
                f"{where}: no schema for {obj['apiVersion']} {obj['kind']} in "
                f"Kubernetes {version}, and none vendored in {SCHEMAS}"
            )
    assert not errors, f"{overlay.target} against Kubernetes {version}:\n" + "\n".join(errors)


def test_the_validator_is_strict(dev):
    """The check above would catch a misspelt field or a wrong type (not a vacuous pass)."""
    require_kubernetes_validate()
    deployment = dev.get("Deployment", "accounts-web")
    for mistake in ("misspelt", "type"):
        broken = copy.deepcopy(deployment)
        container = broken["spec"]["template"]["spec"]["containers"][0]
        if mistake == "misspelt":
            container["workingdir"] = container.pop("workingDir")
        else:
            container["ports"][0]["containerPort"] = "8000"
        with pytest.raises(jsonschema.ValidationError):
            kubernetes_validate.validate(broken, manifests.KUBERNETES_VERSIONS[-1], strict=True)


def test_vendored_schemas_are_valid_and_reject_mistakes(prod):
    for path in CUSTOM_RESOURCES.values():
        jsonschema.Draft202012Validator.check_schema(json.loads(path.read_text()))
    clusters = prod.of_kind("Cluster")
    assert len(clusters) == len(manifests.SERVICES)
    schema = custom_schema(clusters[0])
    validator = jsonschema.Draft202012Validator(schema)
    mistakes = {
        "unknown field": lambda s: s.update(instance=3),
        "instances as a string": lambda s: s.update(instances="3"),
        "no instances": lambda s: s.pop("instances"),
        "zero instances": lambda s: s.update(instances=0),
        "bad update strategy": lambda s: s.update(primaryUpdateStrategy="automatic"),
        "bad storage size": lambda s: s["storage"].update(size="ten gigabytes"),
        "unknown initdb field": lambda s: s["bootstrap"]["initdb"].update(databse="x"),
    }
    for what, mutate in mistakes.items():
        broken = copy.deepcopy(clusters[0])
        mutate(broken["spec"])
        assert not validator.is_valid(broken), f"the Cluster schema accepts: {what}"


def test_the_cert_manager_schemas_reject_mistakes(prod):
    certificate = prod.get("Certificate", "nats-tls")
    issuer = prod.get("Issuer", "nats-ca")
    mistakes = {
        "unknown field": (certificate, lambda s: s.update(dnsName=["nats"])),
        "no secret": (certificate, lambda s: s.pop("secretName")),
        "bad usage": (certificate, lambda s: s.update(usages=["server-auth"])),
        "bad key algorithm": (certificate, lambda s: s["privateKey"].update(algorithm="EC")),
        "bad duration": (certificate, lambda s: s.update(duration="90d")),
        "issuer without a name": (certificate, lambda s: s["issuerRef"].pop("name")),
        "two issuer types": (issuer, lambda s: s.update(selfSigned={})),
        "ca without its secret": (issuer, lambda s: s["ca"].pop("secretName")),
    }
    for what, (obj, mutate) in mistakes.items():
        assert jsonschema.Draft202012Validator(custom_schema(obj)).is_valid(obj)
        broken = copy.deepcopy(obj)
        mutate(broken["spec"])
        assert not jsonschema.Draft202012Validator(custom_schema(obj)).is_valid(broken), (
            f"the {obj['kind']} schema accepts: {what}"
        )


def test_no_placeholder_is_left(overlay):
    """The template's SERVICE and prod's HOST, GATEWAY_CLASS and BACKUP_DESTINATION are all
    replaced (kustomize replacements)."""
    text = yaml.safe_dump_all(overlay.objects)
    left = sorted(set(re.findall(r"\b(?:SERVICE|HOST|GATEWAY_CLASS|BACKUP_DESTINATION)\b", text)))
    assert not left, f"{overlay.target}: placeholders left: {left}"


def test_gateway_schemas_reject_mistakes(dev, prod):
    """The vendored Gateway API schemas accept what the overlays render and refuse the mistakes
    the API server would (its schema and its CEL rules)."""
    gateway = prod.get("Gateway", "charity-vote")
    route = prod.get("HTTPRoute", "voting")
    redirect = prod.get("HTTPRoute", "https-redirect")
    assert dev.get("Gateway", "charity-vote")

    def listener(g, name):
        return next(li for li in g["spec"]["listeners"] if li["name"] == name)

    gateway_mistakes = {
        "unknown field": lambda g: g["spec"].update(listners=[]),
        "no listener": lambda g: g["spec"].update(listeners=[]),
        "port as a string": lambda g: listener(g, "https").update(port="443"),
        "port 0": lambda g: listener(g, "https").update(port=0),
        "HTTPS without tls": lambda g: listener(g, "https").pop("tls"),
        "tls on HTTP": lambda g: listener(g, "http").update(tls=listener(g, "https")["tls"]),
        "TLS without a certificate": lambda g: listener(g, "https")["tls"].pop("certificateRefs"),
        "an IP as hostname": lambda g: listener(g, "https").update(hostname="192.0.2.1."),
        "an upper-case hostname": lambda g: listener(g, "https").update(hostname="Vote.Example"),
        "routes from anywhere (bad enum)": lambda g: listener(g, "http").update(
            allowedRoutes={"namespaces": {"from": "Any"}}
        ),
        "no class": lambda g: g["spec"].pop("gatewayClassName"),
    }
    route_mistakes = {
        "an Ingress path type": lambda r: r["spec"]["rules"][0]["matches"][0]["path"].update(
            type="Prefix"
        ),
        "a relative path": lambda r: r["spec"]["rules"][0]["matches"][0]["path"].update(
            value="voting/api"
        ),
        "a // in a path": lambda r: r["spec"]["rules"][0]["matches"][0]["path"].update(
            value="/voting//api"
        ),
        "a backend without port": lambda r: r["spec"]["rules"][0]["backendRefs"][0].pop("port"),
        "a port as a string": lambda r: r["spec"]["rules"][0]["backendRefs"][0].update(port="80"),
        "an unknown match field": lambda r: r["spec"]["rules"][0]["matches"][0].update(prefix="/"),
        "a parentRef without name": lambda r: r["spec"]["parentRefs"][0].pop("name"),
        "a redirect beside backends": lambda r: r["spec"]["rules"][0].update(
            filters=[{"type": "RequestRedirect", "requestRedirect": {"scheme": "https"}}]
        ),
    }
    redirect_mistakes = {
        "a redirect filter without its field": lambda r: r["spec"]["rules"][0]["filters"][0].pop(
            "requestRedirect"
        ),
        "a status code of the experimental channel": lambda r: r["spec"]["rules"][0]["filters"][0][
            "requestRedirect"
        ].update(statusCode=308),
    }
    for obj, mistakes in (
        (gateway, gateway_mistakes),
        (route, route_mistakes),
        (redirect, redirect_mistakes),
    ):
        validator = jsonschema.Draft202012Validator(custom_schema(obj))
        assert validator.is_valid(obj), list(validator.iter_errors(obj))[:1]
        for what, mutate in mistakes.items():
            broken = copy.deepcopy(obj)
            mutate(broken)
            assert not validator.is_valid(broken), f"the {obj['kind']} schema accepts: {what}"


def test_listener_names_are_unique(overlay):
    """A CEL rule of the Gateway CRD that the JSON schema cannot say."""
    for gateway in overlay.of_kind("Gateway"):
        names = [li["name"] for li in gateway["spec"]["listeners"]]
        assert len(names) == len(set(names)), f"{overlay.target}: listeners {names}"


# ------------------------------------------------------------- prod's own values, at build --


def prod_with_site(tmp_path, values: dict[str, str] | None) -> manifests.Render:
    """Prod built from a copy of kustomize/ whose site.yaml sets `values` (None: as committed)."""
    require_kubectl()
    tree = manifests.copy_tree(tmp_path)
    if values is not None:
        manifests.write_site(tree, values)
    return manifests.render_path(tree / "overlays" / "prod")


def test_the_committed_prod_does_not_build(tmp_path):
    """As committed, site.yaml sets nothing: the build stops and names what to set."""
    r = prod_with_site(tmp_path, None)
    assert r.returncode != 0 and not r.objects
    assert "data.host" in r.stderr and "site" in r.stderr, r.stderr


@pytest.mark.parametrize("missing", sorted(manifests.TEST_SITE))
def test_prod_does_not_build_without_each_site_value(tmp_path, missing):
    values = {k: v for k, v in manifests.TEST_SITE.items() if k != missing}
    r = prod_with_site(tmp_path, values)
    assert r.returncode != 0 and not r.objects, f"prod builds without {missing}"
    assert f"data.{missing}" in r.stderr and "site" in r.stderr, r.stderr


@pytest.mark.parametrize(
    "image",
    [
        "registry.test.example/charity-vote:1.0",
        "registry.test.example/charity-vote",
    ],
)
def test_prod_does_not_build_with_an_image_without_digest(tmp_path, image):
    r = prod_with_site(tmp_path, {**manifests.TEST_SITE, "image": image})
    assert r.returncode != 0 and not r.objects, f"prod builds with {image}"
    assert "out of bounds" in r.stderr and image in r.stderr, r.stderr


def test_applying_the_committed_prod_stops_before_the_cluster(tmp_path):
    """`kubectl apply -k` builds first: with a cluster that cannot be reached, the error is
    the build's, so nothing was sent."""
    require_kubectl()
    tree = manifests.copy_tree(tmp_path)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )

    def apply() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [manifests.kubectl(), "apply", "-k", str(tree / "overlays" / "prod")],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "KUBECONFIG": str(kubeconfig), "NO_COLOR": "1"},
        )

    proc = apply()
    assert proc.returncode != 0
    assert "data.host" in proc.stderr, proc.stderr
    assert "127.0.0.1:9" not in proc.stderr, proc.stderr
    # ... and the same apply with the site's values set does try the cluster.
    manifests.write_site(tree, manifests.TEST_SITE)
    proc = apply()
    assert proc.returncode != 0 and "127.0.0.1:9" in proc.stderr, proc.stderr


def test_prod_runs_the_site_s_image_by_its_digest(prod):
    image = manifests.TEST_SITE["image"]
    for pod in manifests.app_pods(prod):
        for c in pod.all_containers:
            assert c["image"] == image, f"{pod.owner}/{c['name']}: {c['image']}"
        annotations = pod.workload["metadata"]["annotations"]
        assert annotations["charity-vote/image-digest"] == image.split("@")[1], pod.owner
        assert "imagePullSecrets" not in pod.spec, pod.owner


def test_the_private_registry_component_gives_every_platform_pod_the_pull_secret(tmp_path):
    """components/private-registry: the services' pods pull with registry-credentials; NATS,
    Redis and the databases (public images) are left alone."""
    require_kubectl()
    tree = manifests.copy_tree(tmp_path)
    manifests.write_site(tree, manifests.TEST_SITE)
    kustomization = tree / "overlays" / "prod" / "kustomization.yaml"
    text = kustomization.read_text()
    commented = "  # - ../../components/private-registry\n"
    assert commented in text, "prod's kustomization no longer offers the component"
    kustomization.write_text(text.replace(commented, "  - ../../components/private-registry\n"))
    r = manifests.render_path(tree / "overlays" / "prod")
    assert r.returncode == 0, r.stderr
    for pod in manifests.pods(r):
        secrets = (pod.spec or {}).get("imagePullSecrets")
        if pod.service:
            assert secrets == [{"name": "registry-credentials"}], pod.owner
        else:
            assert not secrets, pod.owner
