# syntax=docker/dockerfile:1
#
# One image for every service and every role of charity-vote. The Kubernetes manifests
# (kustomize/) pick the service with `workingDir: /app/<service>_service` and the role with
# `command`; the commands are those `manage_all.py up` runs (manage_all.platform_processes),
# which tests/deploy checks:
#
#   web        python -m gunicorn config.wsgi:application --bind 0.0.0.0:8000 ... --no-control-socket
#   worker     python -m celery -A config worker --pool threads ...
#   beat       python -m celery -A config beat --loglevel INFO
#   consumer   python manage.py consume_events
#   migrate    python manage.py migrate --noinput    (the web pods' init container)
#
# Build: docker build -t charity-vote:dev .
# The base by digest (a multi-platform index): a rebuild gets these bytes, not whatever the tag
# points to that day. README "Deploy on Kubernetes", "The image", says how to refresh it.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# Only the run-time dependencies (not local.txt's embedded NATS and Redis, nor dev.txt's tools),
# exactly as requirements/lock.txt pins them (compiled from base.txt; README "Libraries"): every
# file checked against its hash, none unpinned.
COPY requirements/lock.txt /src/requirements/lock.txt
RUN pip install --require-hashes --no-deps -r /src/requirements/lock.txt
# shared_events as a regular (non-editable) install: the image carries no source checkout of it.
# Its dependencies and its build backend (setuptools) are the lock's: nothing unhashed comes in.
COPY shared_events /src/shared_events
RUN pip install --no-deps --no-build-isolation /src/shared_events

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# The manifests run every pod as this user (runAsUser/runAsGroup 10001) on a read-only root
# filesystem; what a process writes goes to the emptyDirs mounted at /tmp and VAR_DIR.
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY accounts_service accounts_service
COPY polls_service polls_service
COPY voting_service voting_service
# Static files are collected here at build time and served by whitenoise; each service's
# STATIC_ROOT (kustomize/base/<service>/kustomization.yaml) points at its folder. The settings
# generate throwaway keys under VAR_DIR while they load: keep them out of the image.
RUN set -eux; \
    for service in accounts polls voting; do \
      ( cd /app/${service}_service \
        && VAR_DIR=/tmp/build-var STATIC_ROOT=/app/static/${service} \
           python manage.py collectstatic --noinput --verbosity 0 ); \
    done; \
    rm -rf /tmp/build-var; \
    python -m compileall -q /app
USER 10001:10001
EXPOSE 8000
# No default command: a pod always says which service (workingDir) and role (command) it runs.
CMD ["python", "-c", "print('charity-vote: run a role, e.g. `python manage.py consume_events` in /app/<service>_service; see kustomize/')"]
