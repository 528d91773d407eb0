"""Hosted fields, kessai.js, the demo shop and hosted checkout in a real headless Chromium.

Debian's chromium and chromium-driver (scripts/test.sh installs them) driven by selenium from
PyPI. The demo shop (examples/demo-shop/shop.py) runs on http://localhost:PORT, Kessai on
http://127.0.0.1:PORT: two origins, as a real shop and Kessai would be. Screenshots are saved
under $KESSAI_ARTIFACTS (default .build/artifacts), not committed.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import pytest
import stripe
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ROOT, Server, free_port, scan_for_card_data, screenshot



class Shop:
    """The demo shop, started the way its README line says, recording what its server receives."""

    def __init__(self, kessai):
        self.port = free_port()
        self.origin = f"http://localhost:{self.port}"
        self.record = tempfile.mktemp(prefix="shop-record-", suffix=".jsonl")
        self.log = open(tempfile.mktemp(prefix="shop-", suffix=".log"), "wb")
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "examples", "demo-shop", "shop.py"), "--port", str(self.port), "--kessai", kessai.base,
             "--secret-key", kessai.secret_key, "--publishable-key", kessai.publishable_key, "--record", self.record],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.origin + "/shop.css", timeout=1)
                return
            except OSError:
                assert self.process.poll() is None, "the demo shop exited"
                time.sleep(0.2)
        raise RuntimeError("the demo shop did not start")

    def received(self):
        if not os.path.exists(self.record):
            return ""
        return open(self.record).read()

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture(scope="module")
def kessai():
    workdir = tempfile.mkdtemp(prefix="kessai-browser-")
    server = Server("sqlite", workdir)
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


@pytest.fixture(scope="module")
def shop(kessai):
    running = Shop(kessai)
    yield running
    running.stop()


def fill_card(driver, number, expiry="12 / 34", cvc="123"):
    """Types into Kessai's iframe, as a buyer does, and returns to the shop's page."""
    frame = WebDriverWait(driver, 15).until(lambda d: d.find_element(By.CSS_SELECTOR, "iframe.KessaiElement"))
    driver.switch_to.frame(frame)
    WebDriverWait(driver, 15).until(lambda d: d.find_element(By.ID, "number"))
    for field, value in (("number", number), ("expiry", expiry), ("cvc", cvc)):
        element = driver.find_element(By.ID, field)
        element.clear()
        element.send_keys(value)
    brand = driver.find_element(By.ID, "brand").text
    driver.switch_to.default_content()
    return brand


def wait_result(driver, timeout=30):
    WebDriverWait(driver, timeout).until(
        lambda d: d.find_element(By.ID, "result").get_attribute("data-status") in ("succeeded", "failed", "unavailable"))
    element = driver.find_element(By.ID, "result")
    return element.get_attribute("data-status"), element.text


def intent_id(text):
    return text[text.index("pi_"):].rstrip(")")


def test_demo_shop_takes_a_card_payment_without_a_challenge(browser, kessai, shop):
    browser.get(shop.origin + "/")
    assert fill_card(browser, "4242424242424242") == "Visa"
    screenshot(browser, "demo-shop-card-filled")
    browser.find_element(By.ID, "pay").click()
    status, text = wait_result(browser)
    screenshot(browser, "demo-shop-result-succeeded")
    assert status == "succeeded", text
    stripe.api_base = kessai.base
    intent = stripe.PaymentIntent.retrieve(intent_id(text), api_key=kessai.secret_key)
    assert intent.status == "succeeded" and intent.amount == 2500 and intent.currency == "jpy"
    method = stripe.PaymentMethod.retrieve(intent.payment_method, api_key=kessai.secret_key)
    assert method.card.last4 == "4242"
    # The shop's server got the token and nothing of the card.
    received = shop.received()
    assert intent.payment_method in received
    assert "4242424242424242" not in received and "4242 4242" not in received and "\"123\"" not in received


def test_demo_shop_with_a_3d_secure_challenge_passed_and_failed(browser, kessai, shop):
    stripe.api_base = kessai.base
    for answer, expected in (("complete", "succeeded"), ("fail", "failed")):
        browser.get(shop.origin + "/")
        fill_card(browser, "4000002760003184")
        browser.find_element(By.ID, "pay").click()
        frame = WebDriverWait(browser, 20).until(lambda d: d.find_element(By.CSS_SELECTOR, ".KessaiChallenge iframe"))
        if answer == "complete":
            screenshot(browser, "demo-shop-3ds-challenge")
        browser.switch_to.frame(frame)
        WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, answer)).click()
        browser.switch_to.default_content()
        status, text = wait_result(browser)
        assert status == expected, text
        if expected == "succeeded":
            assert stripe.PaymentIntent.retrieve(intent_id(text), api_key=kessai.secret_key).status == "succeeded"
        else:
            assert "本人認証" in text, text
        WebDriverWait(browser, 10).until(lambda d: not d.find_elements(By.CSS_SELECTOR, ".KessaiChallenge"))


@pytest.mark.parametrize("number,message", [
    ("4000000000000002", "カードが承認されませんでした"),
    ("4000000000009995", "利用可能額が不足"),
    ("4000000000000069", "有効期限が切れて"),
])
def test_a_declined_card_shows_a_clear_message(browser, shop, number, message):
    browser.get(shop.origin + "/")
    fill_card(browser, number)
    browser.find_element(By.ID, "pay").click()
    status, text = wait_result(browser)
    assert status == "failed" and message in text, text
    if number == "4000000000000002":
        screenshot(browser, "demo-shop-declined")


def test_fields_validate_inline_in_japanese_and_english(browser, kessai, shop):
    browser.get(shop.origin + "/")
    fill_card(browser, "4242424242424241", expiry="", cvc="")
    # The iframe shows the message, and the shop's page hears it through the change event.
    WebDriverWait(browser, 10).until(lambda d: "カード番号が正しくありません" in d.find_element(By.ID, "card-errors").text)
    fill_card(browser, "4242424242424242", expiry="01 / 20", cvc="")
    WebDriverWait(browser, 10).until(lambda d: "有効期限が過ぎています" in d.find_element(By.ID, "card-errors").text)
    assert fill_card(browser, "378282246310005", expiry="", cvc="") == "American Express"
    assert fill_card(browser, "3566002020360505", expiry="", cvc="") == "JCB"
    # The same frame in English (opened directly: framing rules apply only to framing).
    browser.get(f"{kessai.base}/elements/card?key={kessai.publishable_key}&origin={shop.origin}&locale=en")
    browser.find_element(By.ID, "number").send_keys("4242424242424241")
    WebDriverWait(browser, 10).until(lambda d: "Your card number is invalid." in d.find_element(By.ID, "message").text)


def test_the_merchants_page_cannot_read_the_card_fields(browser, kessai, shop):
    browser.get(shop.origin + "/")
    fill_card(browser, "5555555555554444")
    # Script in the merchant's page (a skimmer would run here) cannot reach into Kessai's frame.
    assert browser.execute_script("return document.querySelector('iframe.KessaiElement').contentDocument") is None
    with pytest.raises(WebDriverException) as refused:
        browser.execute_script("return document.querySelector('iframe.KessaiElement').contentWindow.document.getElementById('number').value")
    assert "cross-origin" in str(refused.value).lower() or "blocked" in str(refused.value).lower()
    # No field in the merchant's own document holds the number (values are not in outerHTML,
    # so read every input's value), and its DOM text has none of the digits either.
    values = browser.execute_script("return Array.from(document.querySelectorAll('input, textarea')).map(i => i.value)")
    assert values == ["山田 太郎"], values
    assert "5555" not in browser.execute_script("return document.documentElement.outerHTML")
    # What the page can learn is the brand and completeness, from the change event.
    assert browser.find_element(By.ID, "card-errors").text == ""


def test_an_unregistered_origin_gets_no_card_fields(browser, kessai, shop):
    # The same shop reached as http://127.0.0.1:PORT is another origin, never registered.
    browser.get(f"http://127.0.0.1:{shop.port}/")
    frame = WebDriverWait(browser, 15).until(lambda d: d.find_element(By.CSS_SELECTOR, "iframe.KessaiElement"))
    browser.switch_to.frame(frame)
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "message"))
    assert "http://127.0.0.1" in browser.find_element(By.ID, "message").text
    assert not browser.find_elements(By.ID, "number")
    browser.switch_to.default_content()


def test_a_modified_kessai_js_is_refused_by_the_browser_and_reported(browser, tmp_path):
    web = tmp_path / "web"
    shutil.copytree(os.path.join(ROOT, "web"), web)
    server = Server("sqlite", str(tmp_path), extra_args=["--web-root", str(web), "--integrity-interval", "1"])
    server.start()
    shop = Shop(server)
    try:
        # A skimmer appended to the served file, as in the breach through a shop's payment module.
        with open(web / "js" / "v1" / "kessai.js", "a") as script:
            script.write("\nwindow.__skimmed = true;\n")
        served = urllib.request.urlopen(server.base + "/js/v1/kessai.js").read()
        assert b"__skimmed" in served, "Kessai serves what is on disk; the browser and the check must catch it"
        browser.get(shop.origin + "/")
        status, text = wait_result(browser, timeout=15)
        assert status == "unavailable", text
        assert browser.execute_script("return typeof window.Kessai") == "undefined"
        assert browser.execute_script("return window.__skimmed === undefined")
        logs = " ".join(entry["message"] for entry in browser.get_log("browser"))
        assert "integrity" in logs.lower(), logs
        screenshot(browser, "demo-shop-sri-refused")
        deadline = time.time() + 20
        rows = []
        while time.time() < deadline and not rows:
            rows = server.query("SELECT kind, detail FROM security_events WHERE kind = 'script_integrity'")
            time.sleep(0.5)
        assert rows, "the integrity check did not report the changed script"
        detail = json.loads(rows[0][1])
        assert detail["path"] == "/js/v1/kessai.js" and detail["observed"] != detail["expected"]
        deadline = time.time() + 20
        entries = []
        while time.time() < deadline and not entries:
            entries = server.query("SELECT seq FROM ledger_entries WHERE action = 'security.script_integrity'")
            time.sleep(0.5)
        assert entries, "the finding is not in the ledger"
    finally:
        shop.stop()
        server.stop()


def test_hosted_checkout_completes_and_returns_to_success_url(browser, server):
    success = "http://localhost:9/thanks?session_id={CHECKOUT_SESSION_ID}"
    # A success path, a challenge, and a decline first, on one backend each run.
    for number, challenge in (("4000000000000002", False), ("4242424242424242", False), ("4000002760003184", True)):
        session = stripe.checkout.Session.create(
            mode="payment", success_url=success, cancel_url="http://localhost:9/cart",
            line_items=[{"price_data": {"currency": "jpy", "unit_amount": 1500, "product_data": {"name": "抹茶"}}, "quantity": 2}],
            api_key=server.secret_key)
        assert session.status == "open" and session.payment_status == "unpaid" and session.amount_total == 3000
        assert session.url.startswith(server.base + "/checkout/cs_")
        browser.get(session.url)
        assert "¥3,000" in browser.find_element(By.ID, "total").text
        browser.find_element(By.ID, "email").send_keys("buyer@example.com")
        browser.find_element(By.ID, "name").send_keys("TARO YAMADA")
        browser.find_element(By.ID, "cardnumber").send_keys(number)
        browser.find_element(By.ID, "exp").send_keys("12 / 34")
        browser.find_element(By.ID, "cvc").send_keys("123")
        if number == "4242424242424242":
            screenshot(browser, f"checkout-filled-{server.backend}")
        browser.find_element(By.ID, "pay").click()
        if number == "4000000000000002":
            WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.ID, "error"))
            assert "カードが承認されませんでした" in browser.find_element(By.ID, "error").text
            assert stripe.checkout.Session.retrieve(session.id, api_key=server.secret_key).status == "open"
            continue
        if challenge:
            WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.ID, "complete"))
            browser.find_element(By.ID, "complete").click()
        expected = success.replace("{CHECKOUT_SESSION_ID}", session.id)
        WebDriverWait(browser, 20).until(lambda d: d.current_url == expected)
        done = stripe.checkout.Session.retrieve(session.id, api_key=server.secret_key)
        assert done.status == "complete" and done.payment_status == "paid" and done.url is None
        assert stripe.PaymentIntent.retrieve(done.payment_intent, api_key=server.secret_key).status == "succeeded"
    events = stripe.Event.list(type="checkout.session.completed", api_key=server.secret_key)
    assert len(events.data) == 2
    scan_for_card_data(server, [("4242424242424242", "123"), ("4000002760003184", "123"), ("4000000000000002", "123")])


def test_checkout_session_errors_are_4xx_in_the_error_shape(server):
    cases = [
        ({"success_url": "https://shop.example/ok", "line_items": [{"price_data": {"currency": "jpy", "unit_amount": 100, "product_data": {"name": "x"}}, "quantity": 1}]}, "mode"),
        ({"mode": "subscription", "success_url": "https://shop.example/ok"}, "mode"),
        ({"mode": "payment", "success_url": "https://shop.example/ok"}, "line_items"),
        ({"mode": "payment", "success_url": "https://shop.example/ok", "line_items": [{"price": "price_123", "quantity": 1}]}, "line_items[0][price]"),
        ({"mode": "payment", "success_url": "https://shop.example/ok", "line_items": [{"price_data": {"currency": "xyz", "unit_amount": 100, "product_data": {"name": "x"}}, "quantity": 1}]}, "line_items[0][price_data][currency]"),
        ({"mode": "payment", "success_url": "https://shop.example/ok", "line_items": [{"price_data": {"currency": "jpy", "unit_amount": 10, "product_data": {"name": "x"}}, "quantity": 1}]}, "line_items"),
        ({"mode": "payment", "success_url": "https://shop.example/ok", "line_items": [{"price_data": {"currency": "jpy", "unit_amount": 100, "product_data": {"name": "x"}}, "quantity": 0}]}, "line_items[0][quantity]"),
        ({"mode": "payment", "success_url": "javascript:alert(1)", "line_items": [{"price_data": {"currency": "jpy", "unit_amount": 100, "product_data": {"name": "x"}}, "quantity": 1}]}, "success_url"),
        ({"mode": "payment", "line_items": [{"price_data": {"currency": "jpy", "unit_amount": 100, "product_data": {"name": "x"}}, "quantity": 1}]}, "success_url"),
    ]
    for params, param in cases:
        with pytest.raises(stripe.InvalidRequestError) as error:
            stripe.checkout.Session.create(api_key=server.secret_key, **params)
        assert error.value.http_status == 400, params
        assert error.value.param == param, (params, error.value.param)
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe.checkout.Session.retrieve("cs_" + "x" * 48, api_key=server.secret_key)
    assert missing.value.http_status == 404
    try:
        urllib.request.urlopen(server.base + "/checkout/cs_nope", timeout=10)
        raise AssertionError("an unknown checkout page answered 200")
    except urllib.error.HTTPError as error:
        assert error.code == 404


def test_payment_pages_carry_strict_headers_and_csp_reports_become_security_events(server):
    stripe.api_base = server.base
    request = urllib.request.Request(server.base + "/v1/embedding_origins", data=b"origin=https://shop.example", method="POST")
    request.add_header("Authorization", "Bearer " + server.secret_key)
    registered = json.loads(urllib.request.urlopen(request).read())
    assert registered["origin"] == "https://shop.example" and registered["id"].startswith("eo_")
    card = urllib.request.urlopen(f"{server.base}/elements/card?key={server.publishable_key}&origin=https://shop.example")
    policy = card.headers["Content-Security-Policy"]
    assert "frame-ancestors https://shop.example;" in policy and "script-src 'nonce-" in policy and "'unsafe-inline'" not in policy
    assert card.headers["X-Content-Type-Options"] == "nosniff" and card.headers["Referrer-Policy"] == "no-referrer"
    assert 'integrity="sha384-' in card.read().decode()
    session = stripe.checkout.Session.create(
        mode="payment", success_url="https://shop.example/ok",
        line_items=[{"price_data": {"currency": "jpy", "unit_amount": 500, "product_data": {"name": "x"}}, "quantity": 1}], api_key=server.secret_key)
    page = urllib.request.urlopen(session.url)
    policy = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "script-src" not in policy and "default-src 'none'" in policy
    assert "form-action 'self' https://shop.example" in policy
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "<script" not in page.read().decode()
    for body, kind in (
        (b'{"csp-report":{"document-uri":"https://pay.example/checkout/cs_secret?x=1","violated-directive":"script-src-elem","blocked-uri":"https://evil.example/skim.js"}}', "application/csp-report"),
        (b'[{"type":"csp-violation","body":{"documentURL":"https://pay.example/elements/card","effectiveDirective":"connect-src","blockedURL":"https://evil.example/collect"}}]', "application/reports+json"),
    ):
        report = urllib.request.Request(server.base + "/csp-report", data=body, method="POST")
        report.add_header("Content-Type", kind)
        assert urllib.request.urlopen(report).status == 204
    rows = server.query("SELECT detail FROM security_events WHERE kind = 'csp_violation' ORDER BY created_at")
    blocked = sorted(json.loads(row[0])["blocked"] for row in rows)
    assert blocked == ["https://evil.example/collect", "https://evil.example/skim.js"]
    assert all("?x=1" not in row[0] for row in rows), "query strings are cut before recording"
    bad = urllib.request.Request(server.base + "/csp-report", data=b"not json", method="POST")
    try:
        urllib.request.urlopen(bad)
        raise AssertionError("a malformed report was accepted")
    except urllib.error.HTTPError as error:
        assert error.code == 400 and json.loads(error.read())["error"]["type"] == "invalid_request_error"
