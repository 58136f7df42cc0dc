"""What every service serves beside its API: the OpenAPI schema, its docs and the health
checks."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_openapi_schema_and_docs_are_served(api):
    schema = api.get("/accounts/api/schema/")
    assert schema.status_code == 200 and b"/accounts/api/register/" in schema.content
    # The bearer scheme (shared_events.kit.identity.openapi, loaded with the URLs) is offered.
    assert b"bearerAuth:" in schema.content and b"scheme: bearer" in schema.content
    assert api.get("/accounts/api/docs/").status_code == 200


def test_health_endpoints(api):
    assert api.get("/accounts/health/live").json() == {"status": "ok"}
    assert api.get("/accounts/health/ready").status_code == 200
