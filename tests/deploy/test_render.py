"""Every overlay renders with no warning, and every object it renders is valid for the API
server: the Kubernetes API schema of each supported version, strictly (no unknown field), and
the vendored schemas (schemas/) for custom resources."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest

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
    """The template's SERVICE, prod's HOST and BACKUP_DESTINATION are all replaced (kustomize
    replacements)."""
    import yaml

    text = yaml.safe_dump_all(overlay.objects)
    left = sorted(set(re.findall(r"\b(?:SERVICE|HOST|BACKUP_DESTINATION)\b", text)))
    assert not left, f"{overlay.target}: placeholders left: {left}"
