"""Card payments end to end with the official Stripe Python library against a real
`kessai serve`: tokenize, create and confirm, manual capture, partial refunds, declines,
3-D Secure, idempotency, signed webhooks — and a kill -9 in the middle of a stream of confirms."""
import http.client
import http.server
import json
import threading
import time
import urllib.parse
import urllib.request
import uuid

import pytest
import stripe


def tokenize(server, number, cvc="123"):
    return stripe.PaymentMethod.create(
        type="card", card={"number": number, "exp_month": 12, "exp_year": 2031, "cvc": cvc}, api_key=server.publishable_key
    )


class Receiver:
    """A merchant's webhook endpoint on loopback, keeping each request's raw body and headers."""

    def __init__(self):
        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((dict(self.headers), body))
                self.send_response(200)
                self.end_headers()

            def do_GET(self):  # the 3-D Secure return_url lands here
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"back at the shop")

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait_for(self, count, timeout=30):
        deadline = time.time() + timeout
        while len(self.received) < count and time.time() < deadline:
            time.sleep(0.1)
        return self.received

    def close(self):
        self.httpd.shutdown()


def post(server, path, params, key=None, headers=None):
    """A raw form POST, for what the library would not send."""
    body = urllib.parse.urlencode(params).encode() if isinstance(params, (dict, list)) else params
    request = urllib.request.Request(server.base + path, data=body, method="POST")
    request.add_header("Authorization", "Bearer " + (key or server.secret_key))
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


def test_the_whole_flow_with_the_stripe_library(server):
    receiver = Receiver()
    try:
        endpoint = stripe.WebhookEndpoint.create(url=receiver.url + "/hooks", enabled_events=["*"], api_key=server.secret_key)
        assert endpoint.secret.startswith("whsec_")
        assert "secret" not in stripe.WebhookEndpoint.retrieve(endpoint.id, api_key=server.secret_key)

        pm = tokenize(server, "4242424242424242")
        # Tokenization honours Idempotency-Key too: a retried browser request makes no second card.
        card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}
        key = "tok-" + uuid.uuid4().hex
        once = stripe.PaymentMethod.create(type="card", card=card, idempotency_key=key, api_key=server.publishable_key)
        twice = stripe.PaymentMethod.create(type="card", card=card, idempotency_key=key, api_key=server.publishable_key)
        assert once.id == twice.id
        assert server.query(f"SELECT COUNT(*) FROM vault_cards WHERE token = '{once.id}'") == [("1",)]
        intent = stripe.PaymentIntent.create(
            amount=5000, currency="jpy", payment_method=pm.id, capture_method="manual", confirm=True,
            description="Order 1001", metadata={"order": "1001"}, api_key=server.secret_key,
        )
        assert intent.status == "requires_capture"
        assert intent.amount_capturable == 5000 and intent.amount_received == 0
        assert intent.latest_charge.startswith("ch_") and intent.client_secret.startswith(intent.id + "_secret_")

        # The buyer's browser may read its own intent with the publishable key and the client secret.
        seen = stripe.PaymentIntent.retrieve(intent.id, client_secret=intent.client_secret, api_key=server.publishable_key)
        assert seen.status == "requires_capture" and seen.amount == 5000 and seen.client_secret == intent.client_secret
        # ...but not what the merchant stored for itself (metadata, description, receipt e-mail).
        assert "metadata" not in seen and "description" not in seen and "receipt_email" not in seen and "latest_charge" not in seen
        assert stripe.PaymentIntent.retrieve(intent.id, api_key=server.secret_key).metadata["order"] == "1001"
        with pytest.raises(stripe.InvalidRequestError):
            stripe.PaymentIntent.retrieve(intent.id, client_secret=intent.client_secret + "x", api_key=server.publishable_key)

        captured = stripe.PaymentIntent.capture(intent.id, amount_to_capture=4000, api_key=server.secret_key)
        assert captured.status == "succeeded" and captured.amount_received == 4000 and captured.amount_capturable == 0

        first = stripe.Refund.create(payment_intent=intent.id, amount=1500, reason="requested_by_customer", api_key=server.secret_key)
        assert first.status == "succeeded" and first.amount == 1500
        second = stripe.Refund.create(payment_intent=intent.id, amount=2500, api_key=server.secret_key)
        assert second.status == "succeeded"
        with pytest.raises(stripe.InvalidRequestError) as error:
            stripe.Refund.create(payment_intent=intent.id, amount=1, api_key=server.secret_key)
        assert error.value.code == "charge_already_refunded"
        refunds = stripe.Refund.list(payment_intent=intent.id, api_key=server.secret_key)
        # Both refunds, each once (two made in the same second have no defined order between them).
        assert sorted(r.id for r in refunds.data) == sorted([first.id, second.id])
        assert {r.status for r in refunds.data} == {"succeeded"} and sum(r.amount for r in refunds.data) == 4000

        # Automatic capture in one call.
        pm2 = tokenize(server, "5555555555554444")
        paid = stripe.PaymentIntent.create(amount=1200, currency="jpy", payment_method=pm2.id, confirm=True, api_key=server.secret_key)
        assert paid.status == "succeeded" and paid.amount_received == 1200

        # A decline raises CardError with the issuer's reason; the intent goes back to
        # requires_payment_method with last_payment_error.
        declined_pm = tokenize(server, "4000000000009995")
        with pytest.raises(stripe.CardError) as error:
            stripe.PaymentIntent.create(amount=3000, currency="jpy", payment_method=declined_pm.id, confirm=True, api_key=server.secret_key)
        assert error.value.http_status == 402
        assert error.value.code == "card_declined"
        assert error.value.error.decline_code == "insufficient_funds"
        failed = error.value.error.payment_intent
        assert failed["status"] == "requires_payment_method"
        assert failed["last_payment_error"]["decline_code"] == "insufficient_funds"
        # It can be paid with another card.
        retry_pm = tokenize(server, "3566002020360505")
        retried = stripe.PaymentIntent.confirm(failed["id"], payment_method=retry_pm.id, api_key=server.secret_key)
        assert retried.status == "succeeded"

        # Idempotency: the same key replays the first response; other parameters are refused.
        pm3 = tokenize(server, "378282246310005", "1234")
        key = "order-1002-" + uuid.uuid4().hex
        once = stripe.PaymentIntent.create(
            amount=7000, currency="jpy", payment_method=pm3.id, confirm=True, idempotency_key=key, api_key=server.secret_key
        )
        again = stripe.PaymentIntent.create(
            amount=7000, currency="jpy", payment_method=pm3.id, confirm=True, idempotency_key=key, api_key=server.secret_key
        )
        assert again.id == once.id and again.status == "succeeded"
        with pytest.raises(stripe.IdempotencyError):
            stripe.PaymentIntent.create(amount=7001, currency="jpy", payment_method=pm3.id, confirm=True, idempotency_key=key, api_key=server.secret_key)
        charged = server.query(
            "SELECT COUNT(*) FROM test_acquirer_operations t JOIN acquirer_attempts a ON a.id = t.attempt_id "
            f"WHERE a.payment_intent_id = '{once.id}' AND t.approved = 1"
        )
        assert charged == [("1",)]

        listed = stripe.PaymentIntent.list(limit=2, api_key=server.secret_key)
        assert len(listed.data) == 2 and listed.has_more
        page = stripe.PaymentIntent.list(limit=2, starting_after=listed.data[-1].id, api_key=server.secret_key)
        assert not {p.id for p in page.data} & {p.id for p in listed.data}

        # Every event type of the flow reached the endpoint, signed so that Stripe's helper verifies it.
        events = stripe.Event.list(limit=100, api_key=server.secret_key)
        types = {e.type for e in events.data}
        for expected in ("payment_intent.created", "payment_intent.amount_capturable_updated", "payment_intent.succeeded",
                         "payment_intent.payment_failed", "refund.created", "charge.refunded"):
            assert expected in types, expected
        received = receiver.wait_for(len(events.data))
        assert len(received) >= len(events.data)
        verified = []
        for headers, body in received:
            signature = headers["Kessai-Signature"]
            event = stripe.Webhook.construct_event(body, signature, endpoint.secret)
            verified.append(event.type)
            with pytest.raises(stripe.SignatureVerificationError):
                stripe.Webhook.construct_event(body.replace(b"jpy", b"usd"), signature, endpoint.secret)
            with pytest.raises(stripe.SignatureVerificationError):
                stripe.Webhook.construct_event(body, signature, "whsec_" + "0" * 32)
        assert set(verified) == types
        retrieved = stripe.Event.retrieve(events.data[0].id, api_key=server.secret_key)
        assert retrieved.data.object.id == events.data[0].data.object.id
        # Every attempt is recorded.
        attempts = server.query("SELECT COUNT(*) FROM webhook_attempts WHERE status_code = 200")
        assert int(attempts[0][0]) >= len(events.data)

        deleted = stripe.WebhookEndpoint.delete(endpoint.id, api_key=server.secret_key)
        assert deleted.deleted
    finally:
        receiver.close()


def test_three_d_secure_challenge(server):
    receiver = Receiver()
    try:
        for answer, final in (("pass", "succeeded"), ("fail", "requires_payment_method")):
            pm = tokenize(server, "4000002760003184")
            intent = stripe.PaymentIntent.create(
                amount=2000, currency="jpy", payment_method=pm.id, confirm=True, return_url=receiver.url + "/return?order=7",
                api_key=server.secret_key,
            )
            assert intent.status == "requires_action"
            action = intent.next_action
            assert action.type == "redirect_to_url"
            assert action.redirect_to_url.return_url == receiver.url + "/return?order=7"
            url = urllib.parse.urlparse(action.redirect_to_url.url)
            connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
            connection.request("GET", url.path)
            page = connection.getresponse()
            html = page.read().decode()
            assert page.status == 200 and "本人認証" in html and "¥2,000" in html and "3184" in html
            policy = page.getheader("Content-Security-Policy")
            assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy and "script-src" not in policy
            connection.request("POST", url.path, body="result=" + answer, headers={"Content-Type": "application/x-www-form-urlencoded"})
            done = connection.getresponse()
            done.read()
            assert done.status == 303
            back = urllib.parse.urlparse(done.getheader("Location"))
            query = urllib.parse.parse_qs(back.query)
            assert back.path == "/return" and query["order"] == ["7"] and query["payment_intent"] == [intent.id]
            assert query["redirect_status"] == ["succeeded" if answer == "pass" else "failed"]
            after = stripe.PaymentIntent.retrieve(intent.id, api_key=server.secret_key)
            assert after.status == final
            if answer == "fail":
                assert after.last_payment_error.code == "payment_intent_authentication_failure"
            # The challenge is single-use.
            connection.request("POST", url.path, body="result=pass", headers={"Content-Type": "application/x-www-form-urlencoded"})
            reused = connection.getresponse()
            reused.read()
            assert reused.status in (400, 404)
        # A card that needs no challenge goes through without one (frictionless).
        plain = stripe.PaymentIntent.create(
            amount=2000, currency="jpy", payment_method=tokenize(server, "4242424242424242").id, confirm=True, api_key=server.secret_key
        )
        assert plain.status == "succeeded" and plain.next_action is None
    finally:
        receiver.close()


@pytest.mark.parametrize("number,code,decline_code", [
    ("4000000000000002", "card_declined", "generic_decline"),
    ("4000000000009987", "card_declined", "lost_card"),
    ("4000000000009979", "card_declined", "stolen_card"),
    ("4000000000000069", "expired_card", "expired_card"),
    ("4000000000000127", "incorrect_cvc", "incorrect_cvc"),
    ("4000000000000119", "processing_error", "processing_error"),
])
def test_test_cards_decline_with_their_codes(server, number, code, decline_code):
    pm = tokenize(server, number)
    with pytest.raises(stripe.CardError) as error:
        stripe.PaymentIntent.create(amount=1000, currency="jpy", payment_method=pm.id, confirm=True, api_key=server.secret_key)
    assert error.value.code == code and error.value.error.decline_code == decline_code


def test_bad_requests_get_4xx_in_the_error_shape(server):
    pm = tokenize(server, "4242424242424242").id
    authorized = stripe.PaymentIntent.create(
        amount=1000, currency="jpy", payment_method=pm, confirm=True, capture_method="manual", api_key=server.secret_key
    )
    canceled = stripe.PaymentIntent.create(amount=1000, currency="jpy", api_key=server.secret_key)
    stripe.PaymentIntent.cancel(canceled.id, cancellation_reason="abandoned", api_key=server.secret_key)
    other = json.loads(server.cli("merchants", "create", "Other", "--json").stdout.strip().splitlines()[-1])

    cases = [
        ("/v1/payment_intents", {"amount": "0", "currency": "jpy"}, 400, "amount_too_small"),
        ("/v1/payment_intents", {"amount": "-5", "currency": "jpy"}, 400, "parameter_invalid_integer"),
        ("/v1/payment_intents", {"amount": "100000000", "currency": "jpy"}, 400, "amount_too_large"),
        ("/v1/payment_intents", {"amount": "1.5", "currency": "jpy"}, 400, "parameter_invalid_integer"),
        ("/v1/payment_intents", {"amount": "1000", "currency": "xyz"}, 400, "parameter_invalid"),
        ("/v1/payment_intents", {"amount": "1000"}, 400, "parameter_missing"),
        ("/v1/payment_intents", {"currency": "jpy"}, 400, "parameter_missing"),
        ("/v1/payment_intents", {"amount": "1000", "currency": "jpy", "capture_method": "later"}, 400, "parameter_invalid"),
        ("/v1/payment_intents", {"amount": "1000", "currency": "jpy", "payment_method_types[]": "bitcoin"}, 400, "payment_intent_invalid_parameter"),
        ("/v1/payment_intents", {"amount": "1000", "currency": "jpy", "payment_method": "pm_doesnotexist"}, 404, "resource_missing"),
        ("/v1/payment_intents", {"amount": "1000", "currency": "jpy", "confirm": "yes"}, 400, "parameter_invalid"),
        ("/v1/payment_intents", {"amount": "1000", "currency": "jpy", "surprise": "1"}, 400, "parameter_unknown"),
        ("/v1/payment_intents", b"amount=1000&currency=jpy&metadata[a]]=1", 400, "parameter_invalid"),
        ("/v1/payment_intents", b"amount=%ZZ", 400, "parameter_invalid"),
        (f"/v1/payment_intents/{authorized.id}/capture", {"amount_to_capture": "1001"}, 400, "amount_too_large"),
        (f"/v1/payment_intents/{authorized.id}/capture", {"amount_to_capture": "0"}, 400, "parameter_invalid"),
        ("/v1/refunds", {"payment_intent": authorized.id}, 400, "charge_not_refundable"),
        (f"/v1/payment_intents/{canceled.id}/confirm", {"payment_method": pm}, 400, "payment_intent_unexpected_state"),
        (f"/v1/payment_intents/{canceled.id}/cancel", {}, 400, "payment_intent_unexpected_state"),
        (f"/v1/payment_intents/{canceled.id}/capture", {}, 400, "payment_intent_unexpected_state"),
        (f"/v1/payment_intents/{authorized.id}/cancel", {"cancellation_reason": "bored"}, 400, "parameter_invalid"),
        ("/v1/payment_intents/pi_nothere/confirm", {}, 404, "resource_missing"),
        ("/v1/refunds", {}, 400, "parameter_missing"),
        ("/v1/refunds", {"payment_intent": authorized.id, "amount": "-1"}, 400, "parameter_invalid_integer"),
        ("/v1/webhook_endpoints", {"url": "ftp://x", "enabled_events[]": "*"}, 400, "url_invalid"),
        ("/v1/webhook_endpoints", {"url": "https://shop.example/hook", "enabled_events[]": "nothing.happened"}, 400, "parameter_invalid"),
    ]
    for path, params, status, code in cases:
        got, body, _ = post(server, path, params)
        assert got == status, (path, params, got, body)
        assert body["error"]["type"] in ("invalid_request_error", "card_error") and body["error"].get("code") == code, (path, params, body)

    # Refunding more than was captured.
    paid = stripe.PaymentIntent.create(amount=1000, currency="jpy", payment_method=tokenize(server, "4242424242424242").id, confirm=True,
                                       api_key=server.secret_key)
    got, body, _ = post(server, "/v1/refunds", {"payment_intent": paid.id, "amount": "1001"})
    assert got == 400 and body["error"]["code"] == "amount_too_large"

    # Another merchant's objects do not exist for this one.
    for path in (f"/v1/payment_intents/{paid.id}", f"/v1/payment_intents/{paid.id}/capture", f"/v1/payment_intents/{paid.id}/cancel"):
        got, body, _ = post(server, path, {}, key=other["secret_key"])
        assert got == 404 and body["error"]["code"] == "resource_missing", (path, body)
    got, body, _ = post(server, "/v1/refunds", {"payment_intent": paid.id}, key=other["secret_key"])
    assert got == 404
    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe.PaymentIntent.retrieve(paid.id, api_key=other["secret_key"])
    assert error.value.http_status == 404
    got, body, _ = post(server, "/v1/payment_intents", {"amount": "1000", "currency": "jpy", "payment_method": pm, "confirm": "true"},
                        key=other["secret_key"])
    assert got == 404, body

    # A publishable key cannot create or capture, and confirms only with the client secret.
    got, body, _ = post(server, "/v1/payment_intents", {"amount": "1000", "currency": "jpy"}, key=server.publishable_key)
    assert got == 403
    fresh = stripe.PaymentIntent.create(amount=1000, currency="jpy", api_key=server.secret_key)
    got, body, _ = post(server, f"/v1/payment_intents/{fresh.id}/confirm", {"payment_method": pm}, key=server.publishable_key)
    assert got == 400 and body["error"]["code"] == "parameter_missing"

    # Idempotency keys: too long, and the same key on another endpoint.
    got, body, _ = post(server, "/v1/payment_intents", {"amount": "1000", "currency": "jpy"}, headers={"Idempotency-Key": "k" * 256})
    assert got == 400 and body["error"]["code"] == "idempotency_key_invalid"
    post(server, "/v1/payment_intents", {"amount": "1000", "currency": "jpy"}, headers={"Idempotency-Key": "shared"})
    got, body, _ = post(server, "/v1/refunds", {"payment_intent": paid.id}, headers={"Idempotency-Key": "shared"})
    assert got == 400 and body["error"]["type"] == "idempotency_error"


@pytest.mark.server_args("--test-acquirer-latency-ms", "150", "--reconcile-after", "1", "--idempotency-lease", "2")
def test_kill_9_during_confirms_charges_each_intent_exactly_once(server):
    pm_ids = [tokenize(server, "4242424242424242").id for _ in range(24)]
    intents = [stripe.PaymentIntent.create(amount=1000 + i, currency="jpy", payment_method=pm, api_key=server.secret_key)
               for i, pm in enumerate(pm_ids)]
    acknowledged = {}

    def confirm_all(worker):
        for index in range(worker, len(intents), 4):
            intent = intents[index]
            try:
                status, body, _ = post(server, f"/v1/payment_intents/{intent.id}/confirm", {}, headers={"Idempotency-Key": "confirm-" + intent.id})
                if status == 200:
                    acknowledged[intent.id] = body["status"]
            except OSError:
                return  # the server died under us

    threads = [threading.Thread(target=confirm_all, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.6)
    server.kill()
    for thread in threads:
        thread.join()
    assert len(acknowledged) < len(intents), "the kill came too late to interrupt anything"

    server.start_existing()
    # Replay every confirm with its key until each has a final answer.
    final = {}
    deadline = time.time() + 60
    while len(final) < len(intents) and time.time() < deadline:
        for intent in intents:
            if intent.id in final:
                continue
            status, body, _ = post(server, f"/v1/payment_intents/{intent.id}/confirm", {}, headers={"Idempotency-Key": "confirm-" + intent.id})
            if status == 200 and body["status"] == "succeeded":
                final[intent.id] = body
            elif status not in (409,):
                assert status == 200 and body["status"] == "processing", body
        time.sleep(0.3)
    assert len(final) == len(intents)
    for intent in intents:
        assert final[intent.id]["amount_received"] == intent.amount
        # An acknowledged payment is never lost.
        if intent.id in acknowledged:
            assert acknowledged[intent.id] == "succeeded"
    rows = server.query(
        "SELECT a.payment_intent_id, COUNT(*) FROM test_acquirer_operations t JOIN acquirer_attempts a ON a.id = t.attempt_id "
        "WHERE t.approved = 1 AND t.kind IN ('sale', 'authorize') GROUP BY a.payment_intent_id"
    )
    counts = {row[0]: int(row[1]) for row in rows}
    assert counts == {intent.id: 1 for intent in intents}, counts
    charges = server.query("SELECT payment_intent_id, COUNT(*) FROM charges WHERE status = 'succeeded' GROUP BY payment_intent_id")
    assert {row[0]: int(row[1]) for row in charges} == {intent.id: 1 for intent in intents}


def test_no_card_data_in_files_dumps_or_logs_after_payments(server):
    from conftest import scan_for_card_data

    cards = [("4242424242424242", "739"), ("5555555555554444", "846"), ("4000000000009995", "907"), ("4000002760003184", "582"),
             ("378282246310005", "8214")]
    receiver = Receiver()
    try:
        stripe.WebhookEndpoint.create(url=receiver.url, enabled_events=["*"], api_key=server.secret_key)
        for number, cvc in cards:
            pm = tokenize(server, number, cvc)
            try:
                intent = stripe.PaymentIntent.create(amount=1500, currency="jpy", payment_method=pm.id, confirm=True, capture_method="manual",
                                                     return_url=receiver.url + "/r", api_key=server.secret_key)
            except stripe.CardError:
                continue
            if intent.status == "requires_capture":
                stripe.PaymentIntent.capture(intent.id, api_key=server.secret_key)
                stripe.Refund.create(payment_intent=intent.id, amount=500, api_key=server.secret_key)
        receiver.wait_for(8)
    finally:
        receiver.close()
    haystacks = scan_for_card_data(server, cards)
    assert any(b"payment_intent.succeeded" in data for data in haystacks.values())
