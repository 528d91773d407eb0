"""Konbini, Pay-easy and e-money with the official Stripe library against real servers: the
vouchers and instructions pages, test-mode payment, expiry (by command, by the job, by the Stripe
test addresses), duplicate and late notifications, cash refunds, validation errors, and two
processes on one PostgreSQL expiring the same intents once."""
import http.server
import json
import os
import re
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
import stripe
from selenium.webdriver.common.by import By

from conftest import Server, make_database, screenshot


def post(server, path, params=None, key=None):
    body = urllib.parse.urlencode(params or {}).encode()
    request = urllib.request.Request(server.base + path, data=body, method="POST")
    request.add_header("Authorization", "Bearer " + (key or server.secret_key))
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def page(url, language="ja"):
    request = urllib.request.Request(url, headers={"Accept-Language": language})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read().decode(), dict(response.headers)


def konbini(server, email="taro@example.com", **options):
    return stripe.PaymentIntent.create(
        amount=3000, currency="jpy", payment_method_types=["konbini"],
        payment_method_data={"type": "konbini", "billing_details": {"name": "山田 太郎", "email": email}},
        payment_method_options={"konbini": {"product_description": "Tシャツ", **options}}, confirm=True, api_key=server.secret_key)


def jst_deadline(days):
    """23:59:59 JST on the day `days` after today in Japan, as Unix time."""
    jst = 9 * 3600
    today = (int(time.time()) + jst) // 86400
    return (today + days + 1) * 86400 - 1 - jst


def wait_status(server, intent_id, status, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        intent = stripe.PaymentIntent.retrieve(intent_id, api_key=server.secret_key)
        if intent.status == status:
            return intent
        time.sleep(0.3)
    raise AssertionError(f"{intent_id} stayed {intent.status}, expected {status}")


def test_konbini_voucher_payment_and_a_duplicate_notification(server, browser):
    intent = konbini(server, expires_after_days=3)
    assert intent.status == "requires_action" and intent.next_action.type == "konbini_display_details"
    details = intent.next_action.konbini_display_details
    assert details.expires_at == jst_deadline(3)
    stores = json.loads(str(details.stores))
    assert sorted(stores) == ["familymart", "lawson", "ministop", "seicomart"]
    for store in stores.values():
        assert re.fullmatch(r"\d{10,11}", store["confirmation_number"]) and re.fullmatch(r"\d{11,12}", store["payment_code"])
    html, headers = page(details.hosted_voucher_url)
    assert "¥3,000" in html and "ファミリーマート" in html and "お支払い期限" in html and "Tシャツ" in html
    for store in stores.values():
        assert store["payment_code"] in html
    assert "default-src 'none'" in headers["Content-Security-Policy"] and "<script" not in html
    english, _ = page(details.hosted_voucher_url, "en-US,en")
    assert "Pay by" in english and "FamilyMart" in english and "JST" in english
    browser.get(details.hosted_voucher_url)
    assert browser.find_element(By.ID, "amount").text == "¥3,000"
    screenshot(browser, f"konbini-voucher-{server.backend}")

    status, paid = post(server, f"/v1/test_helpers/payment_intents/{intent.id}/pay")
    assert status == 200 and paid["status"] == "succeeded" and paid["amount_received"] == 3000 and paid["next_action"] is None
    # The network sends the same notification again: ignored, recorded, logged.
    status, again = post(server, f"/v1/test_helpers/payment_intents/{intent.id}/pay")
    assert status == 200 and again["status"] == "succeeded" and again["latest_charge"] == paid["latest_charge"]
    outcomes = sorted(row[0] for row in server.query(f"SELECT outcome FROM cash_notifications WHERE payment_intent_id = '{intent.id}'"))
    assert outcomes == ["applied", "duplicate"]
    assert "duplicate payment notification ignored" in open(server.log_path).read()
    succeeded = stripe.Event.list(type="payment_intent.succeeded", api_key=server.secret_key).data
    assert [event.data.object.id for event in succeeded] == [intent.id]
    html, _ = page(details.hosted_voucher_url)
    assert "お支払い済み" in html


def test_konbini_expiry_by_command_and_a_payment_after_the_deadline(server):
    intent = konbini(server)
    result = server.cli("simulate", "expire", intent.id)
    assert result.returncode == 0, result.stderr
    expired = stripe.PaymentIntent.retrieve(intent.id, api_key=server.secret_key)
    assert expired.status == "canceled" and expired.cancellation_reason == "expired" and expired.next_action is None
    # The buyer turns up at the counter afterwards: the network refuses, and so does Kessai.
    status, refused = post(server, f"/v1/test_helpers/payment_intents/{intent.id}/pay")
    assert status == 400 and refused["error"]["code"] == "payment_intent_payment_attempt_expired"
    assert server.cli("simulate", "pay", intent.id).returncode != 0
    assert server.cli("simulate", "expire", intent.id).returncode != 0, "an intent expires once"
    canceled = stripe.Event.list(type="payment_intent.canceled", api_key=server.secret_key).data
    assert [event.data.object.id for event in canceled] == [intent.id]
    assert stripe.PaymentIntent.retrieve(intent.id, api_key=server.secret_key).amount_received == 0


def test_stripe_test_addresses_pay_expire_or_never_fill(server):
    paid = konbini(server, email="anything+succeed_immediately@example.com")
    expire = konbini(server, email="expire_immediately@example.com")
    never = konbini(server, email="fill_never@example.com")
    assert wait_status(server, paid.id, "succeeded").amount_received == 3000
    assert wait_status(server, expire.id, "canceled").cancellation_reason == "expired"
    time.sleep(2)
    assert stripe.PaymentIntent.retrieve(never.id, api_key=server.secret_key).status == "requires_action"


def test_payeasy_instructions_payment_and_a_cash_refund(server):
    intent = stripe.PaymentIntent.create(
        amount=12800, currency="jpy", payment_method_types=["payeasy"],
        payment_method_data={"type": "payeasy", "billing_details": {"name": "佐藤 花子", "phone": "090-1234-5678", "email": "hanako@example.com"}},
        payment_method_options={"payeasy": {"expires_after_days": 5}}, confirm=True, api_key=server.secret_key)
    assert intent.status == "requires_action" and intent.next_action.type == "payeasy_display_details"
    details = intent.next_action.payeasy_display_details
    assert details.institution_number == "58091" and re.fullmatch(r"\d{16}", details.customer_number)
    assert re.fullmatch(r"\d{6}", details.confirmation_number) and details.expires_at == jst_deadline(5)
    html, _ = page(details.hosted_instructions_url)
    for number in (details.institution_number, details.customer_number, details.confirmation_number):
        assert number in html
    assert "収納機関番号" in html and "お客様番号" in html and "¥12,800" in html
    status, paid = post(server, f"/v1/test_helpers/payment_intents/{intent.id}/pay")
    assert status == 200 and paid["status"] == "succeeded"

    refund = stripe.Refund.create(payment_intent=intent.id, amount=2800, api_key=server.secret_key)
    assert refund.status == "requires_action" and refund.next_action.type == "display_details"
    assert refund.next_action.display_details.email_sent.email_sent_to == "hanako@example.com"
    messages = server.query(f"SELECT recipient, sent_at FROM outbox_messages WHERE related_object = '{refund.id}'")
    assert messages == [("hanako@example.com", "" if server.database_url else "None")], "one unsent message, for a mail sender to drain"
    asks = server.query(
        f"SELECT COUNT(*) FROM outbox_messages WHERE related_object = '{refund.id}' AND body LIKE '%銀行口座%' AND body LIKE '%¥2800%'")
    assert asks == [("1",)]
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Refund.create(payment_intent=intent.id, amount=10001, api_key=server.secret_key)
    result = server.cli("refunds", "record-payout", refund.id)
    assert result.returncode == 0, result.stderr
    done = stripe.Refund.retrieve(refund.id, api_key=server.secret_key)
    assert done.status == "succeeded" and done.next_action is None
    assert server.cli("refunds", "record-payout", refund.id).returncode != 0, "a payout is recorded once"
    assert [e.data.object.id for e in stripe.Event.list(type="charge.refunded", api_key=server.secret_key).data] == [intent.id]


def test_emoney_redirect_approved_and_refused(server):
    for answer, expected in (("approve", "succeeded"), ("refuse", "requires_payment_method")):
        intent = stripe.PaymentIntent.create(
            amount=980, currency="jpy", payment_method_types=["emoney"], payment_method_data={"type": "emoney"},
            payment_method_options={"emoney": {"provider": "test"}}, confirm=True, return_url="https://shop.example/back?order=7",
            api_key=server.secret_key)
        assert intent.status == "requires_action" and intent.next_action.type == "redirect_to_url"
        url = intent.next_action.redirect_to_url.url
        html, headers = page(url)
        assert "¥980" in html and "form-action 'self' https://shop.example" in headers["Content-Security-Policy"]

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        request = urllib.request.Request(url, data=urllib.parse.urlencode({"result": answer}).encode(), method="POST")
        try:
            urllib.request.build_opener(NoRedirect).open(request, timeout=30)
            raise AssertionError("expected a redirect back to the shop")
        except urllib.error.HTTPError as redirect:
            assert redirect.code == 303
            location = redirect.headers["Location"]
        query = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)
        assert location.startswith("https://shop.example/back?") and query["order"] == ["7"] and query["payment_intent"] == [intent.id]
        assert query["redirect_status"] == ["succeeded" if expected == "succeeded" else "failed"]
        final = stripe.PaymentIntent.retrieve(intent.id, api_key=server.secret_key)
        assert final.status == expected
        if expected == "requires_payment_method":
            assert final.last_payment_error.code == "payment_method_provider_decline"
        else:
            refund = stripe.Refund.create(payment_intent=intent.id, api_key=server.secret_key)
            assert refund.status == "succeeded"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe.PaymentIntent.create(
            amount=980, currency="jpy", payment_method_types=["emoney"], payment_method_data={"type": "emoney"}, confirm=True,
            api_key=server.secret_key)
    assert missing.value.param == "return_url"


@pytest.mark.parametrize("params,param", [
    ({"payment_method_options": {"konbini": {"expires_after_days": 0}}}, "payment_method_options[konbini][expires_after_days]"),
    ({"payment_method_options": {"konbini": {"expires_after_days": 61}}}, "payment_method_options[konbini][expires_after_days]"),
    ({"payment_method_options": {"konbini": {"confirmation_number": "123"}}}, "payment_method_options[konbini][confirmation_number]"),
    ({"payment_method_options": {"konbini": {"product_description": "あ" * 23}}}, "payment_method_options[konbini][product_description]"),
    ({"payment_method_data": {"type": "konbini", "billing_details": {"email": "a@example.com"}}}, "payment_method_data[billing_details][name]"),
    ({"payment_method_data": {"type": "konbini", "billing_details": {"name": "A"}}}, "payment_method_data[billing_details][email]"),
    ({"payment_method_data": {"type": "card"}}, "payment_method_data[type]"),
    ({"currency": "usd"}, "currency"),
    ({"amount": 100}, "amount"),
    ({"amount": 300001}, "amount"),
    ({"payment_method_types": ["card", "konbini"]}, "payment_method_types"),
    ({"payment_method_types": ["payeasy"], "payment_method_data": {"type": "payeasy", "billing_details": {"name": "A"}}},
     "payment_method_data[billing_details][phone]"),
    ({"payment_method_types": ["cash"]}, "payment_method_types"),
])
def test_cash_validation_errors_are_4xx(server, params, param):
    base = {
        "amount": 3000, "currency": "jpy", "payment_method_types": ["konbini"], "confirm": True,
        "payment_method_data": {"type": "konbini", "billing_details": {"name": "山田 太郎", "email": "taro@example.com"}},
    }
    base.update(params)
    if base["payment_method_types"] == ["payeasy"] and "payment_method_data" not in params:
        base["payment_method_data"]["type"] = "payeasy"
    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe.PaymentIntent.create(api_key=server.secret_key, **base)
    assert error.value.http_status == 400, error.value
    assert error.value.param == param, (error.value.param, str(error.value))
    # Nothing was left half-made: no intent is waiting for a payment.
    assert server.query("SELECT COUNT(*) FROM cash_payments WHERE state = 'awaiting'") == [("0",)]


class Receiver:
    def __init__(self):
        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.mark.skipif(not os.environ.get("KESSAI_E2E_PG_URL"), reason="needs PostgreSQL")
def test_two_processes_on_one_postgresql_expire_each_intent_once():
    url = make_database(os.environ["KESSAI_E2E_PG_URL"])
    shared = tempfile.mkdtemp(prefix="kessai-cash-multi-")
    first = Server("postgres", os.path.join(shared, "a"), url)
    first.data_dir = os.path.join(shared, "data")
    first.start()
    second = Server("postgres", os.path.join(shared, "b"), url)
    second.data_dir = first.data_dir
    receiver = Receiver()
    try:
        second.start_existing()
        stripe.api_base = first.base
        stripe.WebhookEndpoint.create(url=receiver.url, enabled_events=["payment_intent.canceled"], api_key=first.secret_key)
        # Both processes' jobs race for these: the Stripe test address expires them at once.
        ids = [konbini(first, email=f"buyer{n}+expire_immediately@example.com").id for n in range(30)]
        for intent_id in ids:
            wait_status(first, intent_id, "canceled", timeout=60)
        deadline = time.time() + 60
        while len(receiver.received) < len(ids) and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(3)  # a second delivery, if there were one, would arrive now
        per_intent = {}
        for event in receiver.received:
            per_intent[event["data"]["object"]["id"]] = per_intent.get(event["data"]["object"]["id"], 0) + 1
        assert per_intent == {intent_id: 1 for intent_id in ids}
        counts = first.query("SELECT object_id, COUNT(*) FROM events WHERE type = 'payment_intent.canceled' GROUP BY object_id")
        assert sorted(counts) == sorted((intent_id, "1") for intent_id in ids)
    finally:
        receiver.httpd.shutdown()
        second.stop()
        first.stop()
        stripe.api_base = "http://127.0.0.1:9"
