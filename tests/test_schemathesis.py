"""Property-based contract tests: schemathesis against the committed contract, for both apps.

Every operation of contract/openapi.json gets generated requests (schemathesis's examples,
coverage and fuzzing phases; valid and invalid data alike), sent to each app running as a
real server (the `server` fixture in conftest.py). Every answer must be free of 5xx, carry a
status code and content type the document lists for the operation and a body that matches
its schema; invalid data must be refused with a 4xx and valid data accepted. A method the
document does not list for a path must get a 405 whose Allow header lists exactly the methods
it does list (`unsupported_method` asks the other methods, `allow_header_conformance` OPTIONS).

Query parameters are read as both apps read them (Pydantic's lax integers): a negative case whose
query, as sent, is a valid integer text ("0.0", or `ms=1&ms=2` of which the last counts) is not
"invalid data accepted". Schemathesis mutates an integer into an array or a float, and a one-item
array or an integral float is sent as the same text a valid value would be (a known class of its
false positives: schemathesis issues #3697, #3931, #4600).

Valid data is what the document admits: `format: email` alone admits "jd@gf.test", which both apps
refuse (Pydantic's EmailStr refuses special-use domains), so the document's email schema states
that refusal (a `not` of those domains).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    allow_header_conformance,
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.generation.meta import ParameterLocation

pytestmark = pytest.mark.e2e

CONTRACT = Path(__file__).resolve().parent.parent / "contract" / "openapi.json"
MAX_EXAMPLES = 30  # per operation and app, for the fuzzing phase: keeps a run well under a minute
IO_WAIT_CAP_MS = 50

# Pydantic's lax integer text, as both apps accept it (tests/test_contract.py checks the cases)
LAX_INTEGER = re.compile(r"^\s*[+-]?\d+(_\d+)*(\.0*)?\s*$")


def _query_sent_is_valid(case, response) -> bool:
    """Every integer query parameter, as sent (the last of repeated ones), is valid integer text in range."""
    meta = case.meta
    if meta is None or any(meta.is_negative_at(where) for where in (ParameterLocation.BODY, ParameterLocation.PATH)):
        return False
    sent = parse_qs(urlparse(response.request.url).query, keep_blank_values=True)
    for parameter in case.operation.query:
        schema = parameter.definition.get("schema", {})
        if parameter.name not in sent or schema.get("type") != "integer":
            continue
        text = sent[parameter.name][-1]
        if not LAX_INTEGER.match(text):
            return False
        value = int(float(text.replace("_", "")))
        if not schema.get("minimum", value) <= value <= schema.get("maximum", value):
            return False
    return True


def negative_data_rejection_as_read(ctx, response, case):
    try:
        return negative_data_rejection(ctx, response, case)
    except AcceptedNegativeData:
        if _query_sent_is_valid(case, response):
            return None
        raise


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection_as_read,
    positive_data_acceptance,
    unsupported_method,
    allow_header_conformance,
]

schema = schemathesis.openapi.from_path(CONTRACT)
schema.config.generation.update(max_examples=MAX_EXAMPLES)


@schema.hook.apply_to(path="/io")
def map_query(ctx, query):
    """Keep generated waits short: a valid `ms` can be 1000, and fuzzing would sleep for minutes.

    Out-of-range values are kept as they are, so invalid data is still sent; /io's full range
    is covered by test_contract.py.
    """
    ms = query.get("ms") if isinstance(query, dict) else None
    if isinstance(ms, int) and not isinstance(ms, bool) and IO_WAIT_CAP_MS < ms <= 1000:
        query["ms"] = ms % IO_WAIT_CAP_MS
    return query


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,  # /cpu can take ~0.1 s at its largest n; timing is not what this checks
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_app_conforms_to_contract(case, server):
    case.call_and_validate(base_url=server.base_url, checks=CHECKS)
