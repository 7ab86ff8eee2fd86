"""A fuzz pass of the API against its own OpenAPI schema (schemathesis, a bounded number of examples per
operation, authenticated with a token): no request may get a 5xx answer, and every error is JSON."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from harmony_split.backend.server.wsgi import application


@pytest.fixture
def token(client_of) -> str:  # noqa: ANN001
    from rest_framework.authtoken.models import Token

    client_of("alice")
    return Token.objects.get(user__username="alice").key


# Loaded at collection (pytest-django has set Django up; serving the schema reads no database).
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_no_server_errors(case, token: str) -> None:  # noqa: ANN001
    response = case.call(headers={"Authorization": f"Token {token}"})
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])
    if response.status_code >= 400 and response.status_code != 405:
        assert set(response.json()) == {"error"}, (case.method, case.formatted_path, response.text[:300])
