"""The OpenAPI document (GET /v1/openapi.json) against independent tools, on live servers on
SQLite and PostgreSQL:

- openapi-spec-validator (PyPI) validates it as OpenAPI 3.1;
- schemathesis (PyPI) generates requests from it, valid and invalid, and follows its links
  (create -> retrieve / update / confirm / capture / cancel / delete), with every check
  (`--checks all`): no 5xx, every answer as documented, every invalid request refused, every
  valid one accepted (e2e/schemathesis_hooks.py admits only refusals of an object's state,
  and reads a sent Stripe form back before calling it invalid; a test shows that check still
  fails a document stricter than the server).
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError  # noqa: F401 (the error validate raises)

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMATHESIS = os.path.join(os.path.dirname(sys.executable), "schemathesis")
# Bounded so that both databases together add about three minutes at most.
MAX_EXAMPLES = int(os.environ.get("KESSAI_SCHEMATHESIS_EXAMPLES", "25"))
MAX_TIME = int(os.environ.get("KESSAI_SCHEMATHESIS_MAX_TIME", "80"))
# Fixed so that a failure can be replayed; other seeds shake out other cases when run by hand.
SEED = os.environ.get("KESSAI_SCHEMATHESIS_SEED", "15")

CONFIG = """
[checks.positive_data_acceptance]
# 400 and 402 are narrowed by the kessai_valid_request_accepted hook to refusals of state.
expected-statuses = ["2xx", "3xx", "400", "401", "402", "403", "404", "409", "429", "5xx"]

[checks.negative_data_rejection]
# 402: Stripe's card errors (a number failing Luhn, a wrong CVC length) refuse invalid data too.
expected-statuses = ["400", "401", "402", "403", "404", "405", "409", "413", "415", "422", "429", "5xx"]

[auth.openapi.secretKey]
bearer = "${KESSAI_SECRET_KEY}"

[auth.openapi.publishableKey]
bearer = "${KESSAI_PUBLISHABLE_KEY}"

[auth.openapi.operatorToken]
bearer = "${KESSAI_OPERATOR_TOKEN}"
"""


def fetch(url, method="GET", key=None):
    request = urllib.request.Request(url, method=method)
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_document_is_valid_openapi_3_1(server):
    status, headers, body = fetch(server.base + "/v1/openapi.json")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    document = json.loads(body)
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises OpenAPIValidationError on any fault
    operations = [(m, p) for p, item in document["paths"].items() for m in item]
    assert len(operations) >= 28
    for method, path in operations:
        operation = document["paths"][path][method]
        assert {"200", "4XX"} <= set(operation["responses"]), f"{method} {path}"
        assert operation["operationId"]
        body = operation.get("requestBody", {}).get("content", {})
        assert set(body) <= {"application/x-www-form-urlencoded"}, f"{method} {path} takes forms only"
    # Every link names an operation that exists.
    ids = {document["paths"][p][m]["operationId"] for m, p in operations}
    for method, path in operations:
        for link in document["paths"][path][method]["responses"]["200"].get("links", {}).values():
            assert link["operationId"] in ids


def test_unknown_method_on_known_path_is_405_with_allow(server):
    status, headers, body = fetch(server.base + "/v1/payment_intents", method="PUT", key=server.secret_key)
    assert status == 405
    assert headers["Allow"] == "GET, POST"
    assert json.loads(body)["error"]["type"] == "invalid_request_error"
    status, headers, _ = fetch(server.base + "/v1/webhook_endpoints/we_x", method="PATCH", key=server.secret_key)
    assert status == 405 and headers["Allow"] == "GET, POST, DELETE"
    assert fetch(server.base + "/v1/no_such_thing", method="PUT", key=server.secret_key)[0] == 404


def run_schemathesis(server, *arguments, hooks_env=None, max_time=MAX_TIME):
    workdir = tempfile.mkdtemp(prefix="kessai-schemathesis-")
    config = os.path.join(workdir, "schemathesis.toml")
    with open(config, "w") as f:
        f.write(CONFIG)
    # An operator token and a signed checkpoint, so GET /v1/ledger/checkpoint is reached too.
    created = server.cli("operators", "create-token", "schemathesis")
    assert created.returncode == 0, created.stderr
    assert server.cli("ledger", "checkpoint").returncode == 0
    env = dict(
        os.environ,
        SCHEMATHESIS_HOOKS=os.path.join(HERE, "schemathesis_hooks.py"),
        KESSAI_SECRET_KEY=server.secret_key,
        KESSAI_PUBLISHABLE_KEY=server.publishable_key,
        KESSAI_OPERATOR_TOKEN=re.search(r"(op_[A-Za-z0-9]{40})", created.stdout).group(1),
        **(hooks_env or {}),
    )
    # One worker: with two threads, CPython 3.11.7's ast.parse (hypothesis calls it to describe
    # strategies) can fail with "AST constructor recursion depth mismatch".
    return subprocess.run(
        [
            SCHEMATHESIS, "--config-file", config, "run", server.base + "/v1/openapi.json",
            "--checks", "all",
            # Kessai answers 404 for any id it does not find for this merchant, a parameter's as
            # much as the URL's (design invariant 4: another merchant's objects do not exist). A
            # stateful confirm that names a generated pm_ id after a create is such a 404, which
            # this one check reads as "the created intent was not found"; every other check runs.
            # negative_data_rejection runs as kessai_invalid_request_refused (schemathesis_hooks.py):
            # the same check, which also reads a Stripe form's nested fields back before calling a
            # sent body invalid.
            "--exclude-checks", "ensure_resource_availability,negative_data_rejection",
            "--max-examples", str(MAX_EXAMPLES), "--max-time", str(max_time), "--seed", SEED,
            "--workers", "1", "--generation-allow-x00", "false", "--request-timeout", "10",
            "--no-shrink", "--output-truncate", "false", "--suppress-health-check", "all",
            "--report", "junit", "--report-dir", workdir, *arguments,
        ],
        capture_output=True, text=True, env=env, cwd=workdir, timeout=max_time + 240,
    )


def test_schemathesis_finds_nothing(server):
    started = time.monotonic()
    run = run_schemathesis(server, "--phases", "examples,coverage,fuzzing,stateful")
    elapsed = time.monotonic() - started
    output = run.stdout + run.stderr
    summary = "\n".join(output.splitlines()[-60:])
    print(f"schemathesis on {server.backend}: {elapsed:.0f}s, exit {run.returncode}\n{summary}")
    assert run.returncode == 0, f"schemathesis found problems on {server.backend}:\n{output[-20000:]}"
    assert re.search(r"\b0 failures?\b|No issues found", output) or "failures" not in output.lower()
    # The server logged no internal error while being fuzzed.
    assert b'"internal error"' not in open(server.log_path, "rb").read()


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
def test_invalid_request_check_still_fails_an_accepted_invalid_body(server):
    # The hooks tighten the document (an amount of at most 60) where the server does not:
    # kessai_invalid_request_refused, which replaces schemathesis's own check, must report the
    # larger amounts the server accepts, so the replacement cannot pass everything.
    run = run_schemathesis(
        server, "--phases", "fuzzing", "--mode", "negative", "--include-operation-id", "createPaymentIntent",
        "--max-failures", "1", hooks_env={"KESSAI_SCHEMATHESIS_TIGHTEN": "1"}, max_time=60,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 1, output[-5000:]
    assert "Schema-violating request accepted" in output, output[-5000:]


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
def test_hooks_read_a_stripe_form_back_as_the_server_does(server):
    sys.path.insert(0, HERE)
    from schemathesis_hooks import FORM, _as_declared, _read_form
    from jsonschema import Draft202012Validator

    document = json.loads(fetch(server.base + "/v1/openapi.json")[2])
    schema = document["paths"]["/v1/payment_intents"]["post"]["requestBody"]["content"][FORM]["schema"]

    def valid(raw):
        sent = _read_form(raw.encode())
        return sent is not None and Draft202012Validator(schema).is_valid(_as_declared(sent, schema))

    # The body CI's seed-15 run sent for a case described as "payment_method_data without type".
    assert valid(
        "amount=479899&currency=jpy&metadata%5B%1C%C2%8C%C2%91%C2%97I%C2%A11%24%C2%89%1E%C4%82%C3%B6%5D=%C3%96%C3%A4%EB%82%99"
        "&metadata%5BT%C3%B94%5D=%F2%87%B3%88&metadata%5B%C3%8B%F0%9F%98%8D%C3%A4j%F0%9F%8F%BBe%5D=D%C2%80"
    )
    assert valid("amount=50&currency=jpy&payment_method_types%5B0%5D=card&confirm=false")
    assert not valid("amount=50&currency=jpy&payment_method_data%5Bbilling_details%5D%5Bname%5D=A")  # no type
    assert not valid("amount=50&currency=jpy&payment_method_data=")  # an empty object is not an object
    assert not valid("amount=ten&currency=jpy")
    assert not valid("amount=50&currency=jpy&confirm=yes")
    assert not valid("amount=50&currency=jpy&metadata%5Ba%5D%5Bb%5D=1")
    assert not valid("amount=50&amount=60&currency=jpy")  # a repeated key
    assert not valid("amount=50&currency=jpy&payment_method_types%5B1%5D=card")  # a list with a gap
