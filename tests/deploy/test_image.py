"""The image and the manifests agree: every command a pod runs exists in the image's code, is
the command `manage_all.py up` runs (which the system tests exercise), and starts with the
environment the overlay gives it. Also the Dockerfile, the CI workflow and the README."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.deploy import manifests
from tests.deploy.manifests import ROOT, SERVICES

DOCKERFILE = ROOT / "Dockerfile"


def run_in_service(
    service: str, argv: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess:
    """argv as a pod would run it (`python` is this interpreter), in the service's folder, with
    exactly `env` (nothing inherited from this machine but PATH)."""
    argv = [sys.executable if a == "python" else a for a in argv]
    return subprocess.run(
        argv,
        cwd=ROOT / f"{service}_service",
        capture_output=True,
        text=True,
        timeout=timeout,
        env={"PATH": os.environ.get("PATH", ""), **env},
    )


@functools.cache
def management_commands(service: str) -> frozenset[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as var:
        proc = run_in_service(
            service,
            ["python", "manage.py", "help", "--commands"],
            {"VAR_DIR": var, "HOME": var, "STATIC_ROOT": f"{var}/static"},
        )
    assert proc.returncode == 0, proc.stderr
    return frozenset(proc.stdout.split())


def requirement_names() -> set[str]:
    names = set()
    for line in (ROOT / "requirements" / "base.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            names.add(re.split(r"[\[<>=!~ ]", line)[0].lower())
    return names


def python_invocations(argv: list[str]) -> list[list[str]]:
    """The `python ...` commands a container runs: argv itself, or those in an `sh -c` script."""
    if argv[:2] == ["sh", "-c"]:
        return [m.split() for m in re.findall(r"\bpython [^;&|]+", argv[2])]
    assert argv[0] == "python", f"not a python command: {argv}"
    return [argv]


def check_python_command(service: str, argv: list[str]) -> None:
    folder = ROOT / f"{service}_service"
    if argv[1] == "manage.py":
        assert (folder / "manage.py").exists()
        assert argv[2] in management_commands(service), (
            f"{service}: no management command {argv[2]!r}"
        )
    elif argv[1:3] == ["-m", "gunicorn"]:
        assert "gunicorn" in requirement_names()
        module, attr = argv[3].split(":")
        source = folder / (module.replace(".", "/") + ".py")
        assert source.exists(), source
        assert re.search(rf"^{attr}\s*=", source.read_text(), re.M), f"{source}: no {attr}"
    elif argv[1:3] == ["-m", "celery"]:
        assert "celery" in requirement_names()
        app = argv[argv.index("-A") + 1]
        package = folder / app.replace(".", "/")
        # celery -A config finds config.celery_app (config/__init__.py) or config/celery.py's app.
        assert (package / "celery.py").exists() and re.search(
            r"^app\s*=", (package / "celery.py").read_text(), re.M
        ), package
        assert "celery_app" in (package / "__init__.py").read_text()
    else:
        pytest.fail(f"{service}: unknown command {argv}")


def test_every_container_command_exists_in_the_image_s_code(overlay):
    copied = dockerfile_copies()
    for pod in manifests.app_pods(overlay):
        for c in pod.all_containers:
            where = f"{pod.owner}/{c['name']}"
            # The image has the service's folder at the container's working directory.
            assert c["workingDir"] in copied, f"{where}: {c['workingDir']} is not in the image"
            assert copied[c["workingDir"]] == f"{pod.service}_service", where
            for argv in python_invocations(list(c["command"]) + list(c.get("args", []))):
                check_python_command(pod.service, argv)


def normalized(argv: list[str]) -> list[str]:
    """Only the bind address, the number of gunicorn workers and its graceful timeout may
    differ from `up` (`up` stops its processes 5 s after the first one, a pod has longer)."""
    out = list(argv)
    for option in ("--bind", "--workers", "--graceful-timeout"):
        if option in out:
            out[out.index(option) + 1] = "*"
    return out


def test_each_role_runs_the_command_manage_all_up_runs(overlay, tmp_path):
    sys.path.insert(0, str(ROOT))
    try:
        import manage_all
    finally:
        sys.path.remove(str(ROOT))
    config = manage_all.platform_config(
        {
            "NATS_URL": "nats://nats:4222",
            "VAR_DIR": str(tmp_path),
            "CELERY_BROKER_URL": "redis://redis:6379/0",
        }
    )
    specs = {spec.name: spec for spec in manage_all.platform_processes(config)}
    for service in SERVICES:
        for role in manifests.ROLES:
            spec = specs[f"{service}-{role}"]
            up = ["python" if a == config.python else a for a in spec.argv]
            c = manifests.main_container(manifests.app_pod(overlay, service, role))
            pod_argv = list(c["command"]) + list(c.get("args", []))
            assert normalized(pod_argv) == normalized(up), f"{service} {role}"
            assert spec.cwd.name == c["workingDir"].rsplit("/", 1)[1]


def external_secrets_from_dev() -> dict[str, dict[str, str]]:
    """Prod's Secrets live in the cluster; the dev examples have the same names and keys."""
    dev = manifests.render("overlays/dev")
    found = {}
    for secret in dev.of_kind("Secret"):
        name = manifests.base_name(dev, "Secret", secret["metadata"]["name"])
        found[name] = manifests.secret_data(dev, secret["metadata"]["name"])
    return found


CONSUMER_OWN = ("CONSUMER_REPLICAS", "CONSUMER_REPLICA_INDEX")


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_starts_with_the_environment_its_pods_get(overlay, service, tmp_path):
    """Settings load with EMBEDDED_DEFAULTS=0 and exactly the overlay's variables: `manage.py
    check`, the web command with gunicorn's --check-config (loads the WSGI app), and the
    Celery app. Paths the image provides (STATIC_ROOT) or a volume does are moved to tmp."""
    pods = [manifests.app_pod(overlay, service, role) for role in manifests.ROLES]
    envs = [
        manifests.container_env(overlay, c, external_secrets_from_dev())
        for p in pods
        for c in p.all_containers
    ]
    # Beside them the consumer's replicas get which partitions they own (its manifest's test).
    for e in envs:
        for name in CONSUMER_OWN:
            e.pop(name, None)
    assert all(e == envs[0] for e in envs), f"{service}: the containers' environments differ"
    env = dict(envs[0])
    unresolved = [k for k, v in env.items() if isinstance(v, manifests.Unresolved)]
    assert not unresolved, unresolved
    env.update(
        HOME=str(tmp_path),
        VAR_DIR=str(tmp_path / "var"),
        STATIC_ROOT=str(tmp_path / "static"),
        CELERY_BEAT_SCHEDULE_FILENAME=str(tmp_path / "var" / "celerybeat-schedule"),
    )
    web = manifests.main_container(pods[0])
    for argv in (
        ["python", "manage.py", "check", "--fail-level", "ERROR"],
        [*web["command"], "--check-config"],
        ["python", "-m", "celery", "-A", "config", "report"],
        # The heartbeat the worker's and beat's liveness probes read is installed (a
        # CELERY_BEAT_SCHEDULER setting would replace beat's, and the probe would restart it).
        [
            "python",
            "-c",
            "from config import celery_app as app; from shared_events.core import celery_liveness"
            " as live; assert app.conf.beat_scheduler == live.BEAT_SCHEDULER,"
            " app.conf.beat_scheduler; assert live.PoolHeartbeat in app.steps['worker']",
        ],
    ):
        proc = run_in_service(service, argv, env)
        assert proc.returncode == 0, f"{' '.join(argv)}:\n{proc.stdout}\n{proc.stderr}"


# ------------------------------------------------------------------------------ Dockerfile --


def dockerfile_copies() -> dict[str, str]:
    """Destination (absolute) -> source, for the final stage's COPY lines from the context."""
    text = DOCKERFILE.read_text()
    final = text[text.rindex("\nFROM ") :]
    workdir, copies = "/", {}
    for line in final.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "WORKDIR":
            workdir = parts[1]
        elif parts[0] == "COPY" and not any(p.startswith("--from") for p in parts):
            src, dest = parts[1], parts[2]
            copies[dest if dest.startswith("/") else f"{workdir.rstrip('/')}/{dest}"] = src
    return copies


def test_the_dockerfile_builds_what_the_manifests_need(dev):
    text = DOCKERFILE.read_text()
    # The base pinned by digest, and every stage built on it.
    assert re.search(
        r"^ARG PYTHON_IMAGE=python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}$", text, re.M
    )
    stages = re.findall(r"^FROM (\S+)", text, re.M)
    assert stages and all(s == "${PYTHON_IMAGE}" for s in stages), stages
    # The dependencies from the lock, each file checked against its hash.
    assert re.search(
        r"^RUN pip install --require-hashes --no-deps -r /src/requirements/lock\.txt$", text, re.M
    )
    instructions = "\n".join(x for x in text.splitlines() if not x.lstrip().startswith("#"))
    assert "requirements/base.txt" not in instructions, "the image installs the lock, not base.txt"
    # shared_events installed as a package (not editable), so no source checkout is needed; its
    # dependencies and build backend come from the lock (no unhashed download).
    assert re.search(
        r"^RUN pip install --no-deps --no-build-isolation /src/shared_events$", text, re.M
    )
    assert "ENV PATH=/opt/venv/bin:$PATH" in text  # `python` in the pods is the venv's
    assert re.search(rf"^USER {manifests.APP_UID}:{manifests.APP_UID}$", text, re.M)
    assert re.search(r"for service in accounts polls voting;", text)
    assert "STATIC_ROOT=/app/static/${service}" in text and "collectstatic --noinput" in text
    for pod in manifests.app_pods(dev):
        assert pod.spec["securityContext"]["runAsUser"] == manifests.APP_UID
        assert pod.spec["securityContext"]["runAsGroup"] == manifests.APP_UID
    ignored = (ROOT / ".dockerignore").read_text().split()
    for needed in ("requirements", "shared_events", *(f"{s}_service" for s in SERVICES)):
        assert needed not in ignored, f".dockerignore leaves out {needed}"


LOCK = ROOT / "requirements" / "lock.txt"


def lock_pins() -> dict[str, tuple[str, list[str]]]:
    """requirements/lock.txt: name -> (version, hashes)."""
    pins: dict[str, tuple[str, list[str]]] = {}
    text = LOCK.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(
            r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})*)", line
        )
        assert m, f"requirements/lock.txt: not an exact pin with hashes: {line!r}"
        hashes = re.findall(r"sha256:([0-9a-f]{64})", m[4])
        pins[canonical(m[1])] = (m[3], hashes)
    return pins


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_lock_pins_every_requirement_of_base_txt_with_hashes():
    """The image installs requirements/lock.txt alone: it must satisfy base.txt (and
    shared_events' own dependencies), and every pin must carry its files' hashes. After a change
    to base.txt, compile the lock again (the command is the lock's header; README "Libraries")."""
    from packaging.requirements import Requirement

    pins = lock_pins()
    assert pins, "requirements/lock.txt pins nothing"
    unhashed = sorted(name for name, (_, hashes) in pins.items() if not hashes)
    assert not unhashed, f"pinned without a hash: {unhashed}"
    wanted = [
        line.split("#")[0].strip()
        for line in (ROOT / "requirements" / "base.txt").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    import tomllib

    project = tomllib.loads((ROOT / "shared_events" / "pyproject.toml").read_text())
    wanted += project["project"]["dependencies"] + project["build-system"]["requires"]
    problems = []
    for spec in wanted:
        req = Requirement(spec)
        pinned = pins.get(canonical(req.name))
        if pinned is None:
            problems.append(f"{spec}: not in the lock")
        elif not req.specifier.contains(pinned[0], prereleases=True):
            problems.append(f"{spec}: the lock has {pinned[0]}")
    assert not problems, "requirements/lock.txt is stale:\n" + "\n".join(problems)
    header = LOCK.read_text().splitlines()[:3]
    assert any("--generate-hashes" in line and "requirements/base.txt" in line for line in header)


def test_the_lock_check_catches_a_stale_lock(tmp_path, monkeypatch):
    """Not a vacuous pass: a lock that misses a package, or pins one outside base.txt's range,
    or drops a hash, fails the check above."""
    original = LOCK.read_text()
    cases = {
        "missing": re.sub(r"(?ms)^celery==.*?(?=^\S)", "", original),
        "out of range": re.sub(r"(?m)^django==\S+", "django==4.2.0", original),
        "no hash": re.sub(
            r"(?m)^(whitenoise==\S+) \\\n(\s+--hash=\S+ \\\n)*\s+--hash=\S+", r"\1", original
        ),
    }
    for what, text in cases.items():
        assert text != original, what
        stale = tmp_path / f"{what}.txt"
        stale.write_text(text)
        monkeypatch.setattr(sys.modules[__name__], "LOCK", stale)
        with pytest.raises(AssertionError):
            test_the_lock_pins_every_requirement_of_base_txt_with_hashes()


def test_the_image_s_shared_events_carries_the_kit_s_templates_and_static_files(tmp_path):
    """The image installs shared_events as a wheel, not from the source tree: a template or a
    static file the wheel leaves out would be missing from every service's pages."""
    source = ROOT / "shared_events"
    # A copy: building in the tree would leave build/ and egg-info there.
    copy = shutil.copytree(
        source, tmp_path / "src", ignore=shutil.ignore_patterns("*.egg-info", "build", "tests")
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["-w", str(tmp_path / "dist"), str(copy)],
        check=True,
        timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("shared_events-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = {
        str(f.relative_to(source))
        for folder in ("templates", "static")
        for f in (source / "shared_events" / "kit" / folder).rglob("*")
        if f.is_file()
    }
    assert "shared_events/kit/templates/kit/page.html" in wanted
    assert wanted <= names, sorted(wanted - names)


# -------------------------------------------------------------------------------- CI, docs --


def test_the_ci_workflow_runs_the_tests_and_builds_the_image():
    workflow = manifests.load_yaml(ROOT / ".github" / "workflows" / "ci.yml")
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads `on:` as True
    assert {"push", "pull_request"} <= set(triggers)
    jobs = workflow["jobs"]
    test_jobs = [
        j for j in jobs.values() if any("bash .ci/run" in str(s.get("run", "")) for s in j["steps"])
    ]
    assert len(test_jobs) == 1, "one job runs bash .ci/run"
    services = test_jobs[0]["services"]
    assert str(services["postgres"]["image"]).startswith("postgres:15")
    assert str(services["redis"]["image"]).startswith("redis:")
    uses = [s.get("uses", "") for s in test_jobs[0]["steps"]]
    python = [
        s for s in test_jobs[0]["steps"] if s.get("uses", "").startswith("actions/setup-python@")
    ]
    assert python and str(python[0]["with"]["python-version"]) == "3.11"
    assert any(u.startswith("azure/setup-kubectl@") for u in uses), "kubectl for tests/deploy"
    builds = [
        s
        for j in jobs.values()
        for s in j["steps"]
        if s.get("uses", "").startswith("docker/build-push-action@")
    ]
    assert builds, "no job builds the image"
    for step in builds:
        # Never an unconditional push: only where registry credentials are configured.
        push = step["with"].get("push", False)
        assert push is False or ("env.PUSH" in str(push) and "env.PUSH" in step.get("if", "")), step
    job_env = " ".join(str(j.get("env", {})) for j in jobs.values())
    assert "secrets.REGISTRY_PASSWORD != ''" in job_env


def uses_of(workflow: dict) -> list[str]:
    return [s["uses"] for j in workflow["jobs"].values() for s in j["steps"] if "uses" in s]


def test_every_action_is_pinned_by_commit():
    """A tag can be moved to other code; a commit cannot (the version in a comment beside it)."""
    workflow = manifests.load_yaml(ROOT / ".github" / "workflows" / "ci.yml")
    floating = [u for u in uses_of(workflow) if not re.fullmatch(r"[\w.\-/]+@[0-9a-f]{40}", u)]
    assert not floating, f"actions not pinned by a commit SHA: {floating}"
    text = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    for line in text.splitlines():
        if re.search(r"uses: \S+@[0-9a-f]{40}", line):
            assert re.search(r"# v\d", line), f"say which release the commit is: {line.strip()}"


def test_the_image_job_pushes_the_image_it_tested_once_the_tests_passed():
    workflow = manifests.load_yaml(ROOT / ".github" / "workflows" / "ci.yml")
    jobs = workflow["jobs"]
    (test_job,) = [
        name
        for name, j in jobs.items()
        if any("bash .ci/run" in str(s.get("run", "")) for s in j["steps"])
    ]
    (image_name,) = [
        name
        for name, j in jobs.items()
        if any(s.get("uses", "").startswith("docker/build-push-action@") for s in j["steps"])
    ]
    job = jobs[image_name]
    needs = job.get("needs", [])
    assert test_job in ([needs] if isinstance(needs, str) else needs), (
        "the image waits for the tests"
    )
    steps = job["steps"]
    builds = [s for s in steps if s.get("uses", "").startswith("docker/build-push-action@")]
    assert len(builds) == 1, "the image is built once"
    build = builds[0]["with"]
    assert build.get("load") is True and build.get("push", False) is False, build
    tag = build["tags"]
    index = {id(s): i for i, s in enumerate(steps)}
    smoke = next(s for s in steps if "docker run" in str(s.get("run", "")))
    sbom = next(s for s in steps if s.get("uses", "").startswith("anchore/sbom-action@"))
    push = next(s for s in steps if s.get("id") == "push")
    # Build, smoke-test, SBOM of that image, then push it.
    assert index[id(builds[0])] < index[id(smoke)] < index[id(push)]
    assert sbom["with"]["image"] == tag and sbom["with"].get("format") in (
        "spdx-json",
        "cyclonedx-json",
    )
    assert "env.PUSH == 'true'" in push.get("if", "")
    script = push["run"]
    assert f"docker tag {tag} " in script and "docker push" in script, "pushes the loaded image"
    # The pushed tag is the tested image (same image ID), and its digest is kept.
    assert "TESTED_ID" in script and "steps.tested.outputs.id" in str(push.get("env", {}))
    assert "GITHUB_OUTPUT" in script and "digest=" in script
    assert "push.outputs.digest" in str(job.get("outputs", {}))
    kept = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert kept and any("digest" in str(s["with"].get("path", "")) for s in kept)


def smoke_test_script() -> tuple[dict, str, list[str]]:
    """The image job's smoke step, the `docker run` line and the script it runs in the image."""
    workflow = manifests.load_yaml(ROOT / ".github" / "workflows" / "ci.yml")
    for job in workflow["jobs"].values():
        steps = job["steps"]
        builds = [
            i
            for i, s in enumerate(steps)
            if s.get("uses", "").startswith("docker/build-push-action@") and s["with"].get("load")
        ]
        smokes = [i for i, s in enumerate(steps) if "docker run" in str(s.get("run", ""))]
        if builds and smokes:
            assert len(smokes) == 1 and builds[0] < smokes[0], "build, then smoke-test"
            step, tag = steps[smokes[0]], steps[builds[0]]["with"]["tags"]
            run = step["run"]
            docker = run[run.index("docker run") : run.index('sh -c "')]
            assert docker.rstrip("\\ \n").endswith(tag), f"the smoke test runs not {tag}"
            inner = re.search(r'sh -c "(.*?)"', run, re.S)
            assert inner, 'docker run ... sh -c "<script>"'
            return step, docker, [line.strip() for line in inner[1].splitlines() if line.strip()]
    pytest.fail("no job builds the image (load: true) and then runs it (docker run)")


def test_the_ci_smoke_test_runs_every_container_command_s_code_in_the_image(dev):
    """In the built image, for each service: the settings, the WSGI app, every management
    command a container (or the README) runs, and the Celery app of worker and beat load."""
    step, docker, script = smoke_test_script()
    loop = re.search(r"^\s*for service in ([a-z ]+); do$", step["run"], re.M)
    assert loop and set(loop[1].split()) == set(SERVICES), "every service"
    for flag in (
        "--read-only",
        "--tmpfs /tmp",
        f"--user {manifests.APP_UID}:{manifests.APP_UID}",
        "-w /app/${service}_service",
    ):
        assert flag in docker, f"the smoke test runs the image without {flag}"
    # A failing command fails the step: the script stops at the first (set -e or &&).
    assert script[0] == "set -e" or all(line.endswith("&&") for line in script[:-1]), script
    lines = [line.removesuffix("&&").strip() for line in script]
    wanted = {"python manage.py check", "python manage.py help ensure_streams"}
    gunicorn_apps = set()
    for pod in manifests.app_pods(dev):
        for c in pod.all_containers:
            for argv in python_invocations(list(c["command"]) + list(c.get("args", []))):
                if argv[1] == "manage.py":
                    wanted.add(f"python manage.py help {argv[2]}")
                elif argv[1:3] == ["-m", "celery"]:
                    wanted.add(f"python -m celery -A {argv[argv.index('-A') + 1]} report")
                elif argv[1:3] == ["-m", "gunicorn"]:
                    gunicorn_apps.add(argv[3])
                else:
                    pytest.fail(f"{pod.owner}: what proves {argv} in the image?")
    assert {
        "python manage.py help consume_events",
        "python manage.py help migrate",
        "python -m celery -A config report",
    } <= wanted
    for command in sorted(wanted):
        assert any(line == command or line.startswith(f"{command} ") for line in lines), (
            f"the CI smoke test does not run {command!r} in the image"
        )
    assert gunicorn_apps == {"config.wsgi:application"}
    # The exec probes' commands (worker, beat and consumer's heartbeat) run in the image too.
    for pod in manifests.app_pods(dev):
        for c in pod.containers:
            for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
                argv = c.get(kind, {}).get("exec", {}).get("command")
                if argv:
                    assert any(line.startswith(" ".join(argv[:-1])) for line in lines), (
                        f"the CI smoke test does not run {pod.owner}'s {kind}: {argv}"
                    )
    for app in gunicorn_apps:
        assert any(
            line.startswith(f"python -m gunicorn {app} ")
            and "--check-config" in line
            and "--no-control-socket" in line
            for line in lines
        ), f"the CI smoke test does not load {app} with gunicorn --check-config"
    assert any(re.fullmatch(r"test -f /app/static/\$\{service\}/\S+", line) for line in lines)


def test_the_readme_says_what_prod_needs(prod):
    readme = (ROOT / "README.md").read_text()
    assert "## Deploy on Kubernetes" in readme
    section = readme.split("## Deploy on Kubernetes", 1)[1].split("\n## ", 1)[0]
    rendered = {s["metadata"]["name"] for s in prod.of_kind("Secret")}
    by_operator = {f"{c['metadata']['name']}-app" for c in prod.of_kind("Cluster")}
    needed = set()
    for pod in manifests.pods(prod):
        needed |= manifests.secret_refs(pod)
    for gateway in prod.of_kind("Gateway"):
        for listener in gateway["spec"]["listeners"]:
            needed |= {ref["name"] for ref in listener.get("tls", {}).get("certificateRefs", [])}
    needed.add("registry-credentials")  # components/private-registry
    for name in sorted(needed - rendered - by_operator):
        assert f"`{name}`" in section or f" {name} " in section, (
            f"the README's deploy section does not say how to create the Secret {name}"
        )
    for words in (
        "kubectl apply -k kustomize/overlays/prod",
        "kubectl apply -k kustomize/overlays/dev",
        "CloudNativePG",
        "Gateway API",
        "charity-vote/gateway=true",
        "site.yaml",
        "TRUSTED_PROXY_COUNT",
        "createoperator",
        *manifests.KUBERNETES_VERSIONS,
        # What the cluster needs besides: PersistentVolumes for NATS and the
        # databases, metrics for the autoscalers, the DNS the policies allow.
        "StorageClass",
        "metrics-server",
        "NetworkPolicies",
        "kube-dns",
    ):
        assert words in section, f"the README's deploy section does not mention {words!r}"
    # How to scale: a subsection that names every role, the autoscaler and NATS.
    subsections = dict(part.split("\n", 1) for part in section.split("\n### ")[1:])
    assert "Scale" in subsections, "the README's deploy section has no ### Scale"
    scale = subsections["Scale"]
    for words in (
        *(f"**{role}**" for role in manifests.ROLES),
        "**NATS**",
        "HorizontalPodAutoscaler",
        "minReplicas",
        "maxReplicas",
        "replicas",
    ):
        assert words in scale, f"the README's Scale subsection does not mention {words!r}"
    # ... and what it says of beat and the consumer is what the manifests do.
    assert re.search(r"\*\*beat\*\*: always one", scale), (
        "the README's Scale subsection: beat, always one"
    )
    said = re.search(r"\*\*consumer\*\*: a StatefulSet of (\d+) replicas", scale)
    assert said, "the README's Scale subsection: consumer, a StatefulSet of N replicas"
    consumer = manifests.app_pod(prod, "voting", "consumer")
    assert int(said.group(1)) == consumer.replicas, "the README's consumer replicas"
