"""The prod databases' backups: every CloudNativePG cluster archives its WAL and takes scheduled
base backups through the Barman Cloud plugin into an ObjectStore of the render, and the README's
restore procedure, rendered over the prod overlay, is a valid Cluster that recovers from it."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess

import jsonschema
import pytest
import yaml

from tests.deploy import manifests
from tests.deploy.conftest import require_kubectl
from tests.deploy.test_render import SCHEMAS

PLUGIN = "barman-cloud.cloudnative-pg.io"


def readme_deploy_section() -> str:
    readme = (manifests.ROOT / "README.md").read_text()
    return readme.split("## Deploy on Kubernetes", 1)[1].split("\n## ", 1)[0]


def wal_archiver(cluster: dict) -> dict:
    archivers = [p for p in cluster["spec"].get("plugins", []) if p.get("isWALArchiver")]
    assert len(archivers) == 1, f"{cluster['metadata']['name']}: {len(archivers)} WAL archivers"
    return archivers[0]


def test_every_cluster_archives_its_wal_to_an_object_store_of_the_render(prod):
    stores = {o["metadata"]["name"]: o for o in prod.of_kind("ObjectStore")}
    clusters = prod.of_kind("Cluster")
    assert len(clusters) == len(manifests.SERVICES)
    folders = set()
    for cluster in clusters:
        name = cluster["metadata"]["name"]
        plugin = wal_archiver(cluster)
        assert plugin["name"] == PLUGIN, name
        assert plugin.get("enabled", True) is True, name
        store = plugin["parameters"]["barmanObjectName"]
        assert store in stores, f"{name}: no ObjectStore {store}"
        folders.add((store, plugin["parameters"].get("serverName", name)))
    assert len(folders) == len(clusters), "two clusters archive into one folder"


def test_every_cluster_has_a_scheduled_plugin_backup(prod):
    by_cluster: dict[str, list[dict]] = {}
    for backup in prod.of_kind("ScheduledBackup"):
        by_cluster.setdefault(backup["spec"]["cluster"]["name"], []).append(backup)
    for cluster in prod.of_kind("Cluster"):
        name = cluster["metadata"]["name"]
        scheduled = by_cluster.get(name, [])
        assert len(scheduled) == 1, f"{name}: {len(scheduled)} ScheduledBackups"
        spec = scheduled[0]["spec"]
        assert spec["method"] == "plugin" and spec["pluginConfiguration"]["name"] == PLUGIN
        # Six fields, seconds first (robfig/cron): a daily backup, at a fixed second and minute.
        second, minute, hour, *rest = spec["schedule"].split()
        assert len(rest) == 3 and second.isdigit() and minute.isdigit(), spec["schedule"]
        assert spec.get("immediate") is True, f"{name}: no backup until the first night"
        assert not spec.get("suspend"), name
    assert set(by_cluster) <= {c["metadata"]["name"] for c in prod.of_kind("Cluster")}


def test_the_object_store_keeps_a_bounded_history_compressed(prod):
    for store in prod.of_kind("ObjectStore"):
        spec = store["spec"]
        assert re.fullmatch(r"[1-9][0-9]*[dwm]", spec.get("retentionPolicy", "")), store
        config = spec["configuration"]
        assert config["destinationPath"].startswith(("s3://", "gs://", "https://")), config
        assert config.get("wal", {}).get("compression") and config.get("data", {}).get(
            "compression"
        )
        assert "serverName" not in config  # per cluster, in the Cluster's plugin parameters


def test_the_object_store_credentials_are_a_secret_the_readme_says_how_to_create(prod):
    section = readme_deploy_section()
    rendered = {s["metadata"]["name"] for s in prod.of_kind("Secret")}
    for store in prod.of_kind("ObjectStore"):
        refs = store["spec"]["configuration"].get("s3Credentials", {})
        names = {ref["name"] for ref in refs.values() if isinstance(ref, dict)}
        assert names, "the ObjectStore names no credentials Secret"
        for name in names - rendered:
            assert f"create secret generic {name}" in section, (
                f"the README does not say how to create the Secret {name}"
            )
            for ref in refs.values():
                if isinstance(ref, dict) and ref["name"] == name:
                    assert f"--from-literal={ref['key']}=" in section, ref


def test_the_clusters_run_the_minimal_operand_image_pinned_by_digest(prod):
    images = {c["spec"]["imageName"] for c in prod.of_kind("Cluster")}
    assert len(images) == 1, images
    (image,) = images
    assert re.fullmatch(
        r"ghcr\.io/cloudnative-pg/postgresql:15\.\d+-\d{12}-minimal-\w+@sha256:[0-9a-f]{64}", image
    ), image


def test_the_database_instances_reach_an_object_store_over_https(prod):
    store = manifests.outside("object-store", {"app": "s3"})
    for pod in manifests.pods(prod):
        if pod.owner.startswith("Cluster/"):
            instance = manifests.endpoint(prod, pod)
            assert manifests.connection_allowed(prod, instance, store, 443), pod.owner


# ------------------------------------------------------------------------ the schemas --


def schema(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads((SCHEMAS / name).read_text()))


def test_the_backup_schemas_reject_mistakes(prod):
    backup = prod.of_kind("ScheduledBackup")[0]
    validator = schema("postgresql.cnpg.io_v1_ScheduledBackup.json")
    assert validator.is_valid(backup)
    mistakes = {
        "a CronJob's five fields": lambda s: s.update(schedule="0 3 * * *"),
        "unknown method": lambda s: s.update(method="barman"),
        "no cluster": lambda s: s.pop("cluster"),
        "unknown field": lambda s: s.update(immediately=True),
        "plugin without a name": lambda s: s["pluginConfiguration"].pop("name"),
    }
    for what, mutate in mistakes.items():
        broken = copy.deepcopy(backup)
        mutate(broken["spec"])
        assert not validator.is_valid(broken), f"the ScheduledBackup schema accepts: {what}"

    store = prod.of_kind("ObjectStore")[0]
    validator = schema("barmancloud.cnpg.io_v1_ObjectStore.json")
    assert validator.is_valid(store)
    mistakes = {
        "no destination": lambda c: c.pop("destinationPath"),
        "serverName on the store": lambda c: c.update(serverName="accounts-db"),
        "unknown compression": lambda c: c["wal"].update(compression="zip"),
        "a key without its name": lambda c: c["s3Credentials"]["accessKeyId"].pop("name"),
        "misspelt field": lambda c: c.update(destinationPth="s3://x"),
    }
    for what, mutate in mistakes.items():
        broken = copy.deepcopy(store)
        mutate(broken["spec"]["configuration"])
        assert not validator.is_valid(broken), f"the ObjectStore schema accepts: {what}"
    broken = copy.deepcopy(store)
    broken["spec"]["retentionPolicy"] = "30 days"
    assert not validator.is_valid(broken), "the ObjectStore schema accepts a bad retention"

    cluster = prod.of_kind("Cluster")[0]
    validator = schema("postgresql.cnpg.io_v1_Cluster.json")
    broken = copy.deepcopy(cluster)
    broken["spec"]["plugins"][0]["isWalArchiver"] = True
    assert not validator.is_valid(broken), "the Cluster schema accepts a misspelt plugin field"
    broken = copy.deepcopy(cluster)
    broken["spec"]["bootstrap"]["recovery"] = {"source": "x"}
    assert not validator.is_valid(broken), "the Cluster schema accepts two bootstrap methods"


# ------------------------------------------------------------------------- the restore --


def readme_restore_patch() -> dict:
    section = readme_deploy_section()
    blocks = [
        yaml.safe_load(b)
        for b in re.findall(r"```yaml\n(.*?)```", section, re.S)
        if "recovery:" in b
    ]
    assert len(blocks) == 1, "the README's deploy section has one restore patch"
    return blocks[0]


def test_the_readme_restore_renders_a_valid_cluster_that_recovers_from_the_archive(prod, tmp_path):
    """The README's patch, over the prod overlay as it says (a kustomization next to it), gives
    a Cluster that bootstraps from the archive the original wrote, and archives elsewhere."""
    require_kubectl()
    patch = readme_restore_patch()
    name = patch["metadata"]["name"]
    original = prod.get("Cluster", name)
    (tmp_path / "restore.yaml").write_text(yaml.safe_dump(patch))
    # prod with the site's values set (as committed it does not build, by design)
    overlay = os.path.relpath(manifests.site_tree() / "overlays" / "prod", tmp_path)
    (tmp_path / "kustomization.yaml").write_text(
        yaml.safe_dump({"resources": [overlay], "patches": [{"path": "restore.yaml"}]})
    )
    proc = subprocess.run(
        [manifests.kubectl(), "kustomize", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    objects = [o for o in yaml.safe_load_all(proc.stdout) if o]
    (restored,) = [o for o in objects if o["kind"] == "Cluster" and o["metadata"]["name"] == name]

    schema("postgresql.cnpg.io_v1_Cluster.json").validate(restored)
    spec = restored["spec"]
    assert set(spec["bootstrap"]) == {"recovery"}, spec["bootstrap"]
    recovery = spec["bootstrap"]["recovery"]
    initdb = original["spec"]["bootstrap"]["initdb"]
    assert (recovery["database"], recovery["owner"]) == (initdb["database"], initdb["owner"])
    (source,) = [c for c in spec["externalClusters"] if c["name"] == recovery["source"]]
    old = wal_archiver(original)
    assert source["plugin"]["name"] == PLUGIN
    assert (
        source["plugin"]["parameters"]["barmanObjectName"] == old["parameters"]["barmanObjectName"]
    )
    assert source["plugin"]["parameters"]["serverName"] == old["parameters"].get("serverName", name)
    # The new cluster archives, and never into the folder it recovers from.
    new = wal_archiver(restored)
    assert new["parameters"]["barmanObjectName"] in {
        o["metadata"]["name"] for o in objects if o["kind"] == "ObjectStore"
    }
    assert (new["parameters"]["barmanObjectName"], new["parameters"].get("serverName", name)) != (
        source["plugin"]["parameters"]["barmanObjectName"],
        source["plugin"]["parameters"]["serverName"],
    )
    # The rest is the cluster the services use: its image, size and labels.
    for key in ("imageName", "instances", "storage", "inheritedMetadata"):
        assert spec[key] == original["spec"][key], key


def test_the_readme_says_what_backups_need_and_what_a_deleted_namespace_loses():
    section = readme_deploy_section()
    for words in (
        "cert-manager",
        "plugin-barman-cloud/releases/download/",
        "backup-object-store",
        "bootstrap.recovery",
        "recoveryTarget",
        "archive_timeout",
        "reclaimPolicy: Retain",
        "namespace is deleted",
        "ValidatingAdmissionPolicy",
    ):
        assert words in section, f"the README's deploy section does not mention {words!r}"


@pytest.mark.parametrize(
    "name",
    ["postgresql.cnpg.io_v1_ScheduledBackup.json", "barmancloud.cnpg.io_v1_ObjectStore.json"],
)
def test_the_vendored_backup_schemas_are_valid_json_schemas(name):
    jsonschema.Draft202012Validator.check_schema(json.loads((SCHEMAS / name).read_text()))
