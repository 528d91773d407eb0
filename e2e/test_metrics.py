"""Observability end to end: GET /metrics from a live `kessai serve`, parsed as Prometheus text,
moving when a card payment is made with the Stripe library, with no card number in it; and
traces exported over OTLP/HTTP to a receiver on loopback, with no card number in them."""
import http.server
import os
import re
import tempfile
import threading
import time
import urllib.error
import urllib.request

import pytest
import stripe
from prometheus_client.parser import text_string_to_metric_families

from conftest import Server, backends, make_database

# Every number in README's test-card table and in Tests/KessaiTestSupport/TestCards.swift.
TEST_CARDS = [
    "4242424242424242", "4000056655665556", "5555555555554444", "2223003122003222", "3566002020360505",
    "378282246310005", "36227206271667", "6011111111111117", "4000000000000002", "4000000000009995",
    "4000000000009987", "4000000000009979", "4000000000000069", "4000000000000127", "4000000000000119",
    "4000002760003184",
]


def fetch(server, path, token=None):
    request = urllib.request.Request(server.base + path, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def samples(text):
    """{(name, frozenset(labels)): value} for every sample of the exposition."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(parsed, name, **labels):
    """The sum of the samples named `name` whose labels include `labels` (0 when none)."""
    wanted = set(labels.items())
    return sum(v for (n, l), v in parsed.items() if n == name and wanted <= l)


def pay(server, number="4242424242424242", cvc="739"):
    method = stripe.PaymentMethod.create(
        type="card", card={"number": number, "exp_month": 12, "exp_year": 2031, "cvc": cvc}, api_key=server.publishable_key
    )
    return stripe.PaymentIntent.create(
        amount=1500, currency="jpy", payment_method=method.id, confirm=True, api_key=server.secret_key
    )


def test_metrics_move_after_a_card_payment_and_hold_no_card_data(server):
    status, before_text = fetch(server, "/metrics")
    assert status == 200, before_text
    before = samples(before_text)
    intent = pay(server)
    assert intent.status == "succeeded"
    with pytest.raises(stripe.error.CardError):
        pay(server, "4000000000000002", "618")
    time.sleep(1.5)  # the ledger gauges are set by the sequencer's once-a-second pass
    status, after_text = fetch(server, "/metrics")
    assert status == 200
    after = samples(after_text)

    checks = [
        ("kessai_payments_total", {"method": "card", "outcome": "succeeded"}),
        ("kessai_payments_total", {"method": "card", "outcome": "declined"}),
        ("kessai_http_requests_total", {"route": "/v1/payment_intents", "method": "POST", "status": "200"}),
        ("kessai_http_requests_total", {"route": "/v1/payment_intents", "method": "POST", "status": "402"}),
        ("kessai_http_request_duration_seconds_count", {"route": "/v1/payment_methods", "method": "POST"}),
        ("kessai_acquirer_request_duration_seconds_count", {"operation": "authorize", "outcome": "answered"}),
        ("kessai_vault_decrypts_total", {"actor_kind": "merchant_key"}),
    ]
    for name, labels in checks:
        old, new = value(before, name, **labels), value(after, name, **labels)
        print(f"{name}{labels}: {old} -> {new}")
        assert new > old, f"{name} {labels} did not move: {old} -> {new}"
    assert value(after, "kessai_ledger_entries") > 0
    assert ("kessai_ledger_pending_entries", frozenset()) in after
    # Routes are templates: no object id, no query, no card data, no key.
    assert intent.id not in after_text and "client_secret" not in after_text
    for secret in TEST_CARDS + [server.secret_key, server.publishable_key, intent.client_secret]:
        assert secret not in after_text, f"{secret[:6]}… in /metrics"
    for (name, labels) in after:
        for key, label in labels:
            assert not re.search(r"\d{12,}", label), f"a long digit run in {name} {key}={label}"


@pytest.mark.server_args("--metrics", "operator")
def test_operator_mode_needs_a_token_even_on_loopback(server):
    assert fetch(server, "/metrics")[0] == 404
    assert fetch(server, "/metrics", token="op_" + "x" * 40)[0] == 404
    created = server.cli("operators", "create-token", "prometheus")
    assert created.returncode == 0, created.stderr
    token = re.search(r"(op_[A-Za-z0-9]{40})", created.stdout).group(1)
    status, text = fetch(server, "/metrics", token=token)
    assert status == 200 and "kessai_http_requests_total" in text


def local_address():
    """An address of this host that is not loopback, or None."""
    import subprocess

    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True).stdout
    found = re.findall(r"inet (\d+\.\d+\.\d+\.\d+)/", out)
    return found[0] if found else None


@pytest.mark.server_args("--host", "0.0.0.0")
def test_default_refuses_a_peer_that_is_not_loopback(server):
    address = local_address()
    if address is None:
        pytest.skip("this host has no address but loopback")
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def fetch_from(host, token=None):
        url = f"http://{host}:{server.port}/metrics"
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
        try:
            with direct.open(request, timeout=10) as reply:
                return reply.status
        except urllib.error.HTTPError as error:
            return error.code

    assert fetch_from("127.0.0.1") == 200
    assert fetch_from(address) == 404, f"a peer at {address} must not read /metrics without a token"
    created = server.cli("operators", "create-token", "prometheus")
    token = re.search(r"(op_[A-Za-z0-9]{40})", created.stdout).group(1)
    assert fetch_from(address, token) == 200


class OTLPReceiver:
    """A collector stand-in on loopback: accepts POST /v1/traces and keeps the bodies."""

    def __init__(self):
        bodies = self.bodies = []
        paths = self.paths = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                paths.append(self.path)
                if self.path == "/v1/traces":
                    bodies.append(body)
                    self.send_response(200)
                    self.send_header("Content-Type", "application/x-protobuf")
                    self.send_header("Content-Length", "0")
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def data(self):
        return b"".join(self.bodies)

    def close(self):
        self.httpd.shutdown()


@pytest.mark.parametrize("backend", backends())
def test_traces_reach_an_otlp_receiver_without_card_data(backend, monkeypatch):
    receiver = OTLPReceiver()
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "200")  # swift-otel's batch delay, in ms
    url = make_database(os.environ["KESSAI_E2E_PG_URL"]) if backend == "postgres" else None
    server = Server(backend, tempfile.mkdtemp(prefix="kessai-e2e-"), url, extra_args=["--otel-endpoint", f"http://127.0.0.1:{receiver.port}"])
    server.start()
    monkeypatch.setattr(stripe, "api_base", server.base)
    try:
        intent = pay(server)
        assert intent.status == "succeeded"
        with pytest.raises(stripe.error.CardError):
            pay(server, "4000000000000002", "618")
        stripe.PaymentIntent.retrieve(intent.id, client_secret=intent.client_secret, api_key=server.publishable_key)
        deadline = time.time() + 20
        while time.time() < deadline and not (b"acquirer.authorize" in receiver.data() and b"/v1/payment_intents" in receiver.data()):
            time.sleep(0.2)
    finally:
        assert server.stop() == 0
        receiver.close()
    data = receiver.data()
    print(f"{len(receiver.bodies)} OTLP exports, {len(data)} bytes, paths {sorted(set(receiver.paths))}")
    assert receiver.bodies, "no spans were exported"
    for expected in [b"acquirer.authorize", b"POST /v1/payment_intents", b"/v1/payment_methods", b"kessai.request_id", b"req_", b"kessai"]:
        assert expected in data, f"{expected!r} not in the exported spans"
    for secret in TEST_CARDS + [server.secret_key, server.publishable_key, intent.client_secret]:
        assert secret.encode() not in data, f"{secret[:6]}… in the exported spans"
    assert b"client_secret" not in data and intent.id.encode() not in data
