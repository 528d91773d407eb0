"""The operator console (/console) and the merchant dashboard (/dashboard) against a real
`kessai serve` on both databases: enrollment with a TOTP authenticator (pyotp plays the phone),
sign-in, step-up for refunds and key rolls, dual control for new admins, isolation between
merchants, lockout under Debian's patator, session rules and hostile input.

Plain HTTP goes through stdlib urllib with a cookie jar and no automatic redirects, so every
303 and Set-Cookie is seen as sent. A TOTP code is used once per account (see `Phone`): enrolling
uses one, so the next sign-in or step-up needs the next 30-second step.
"""
import html.parser
import http.cookiejar
import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pyotp
import pytest
import stripe
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import Server, free_port, scan_for_card_data, screenshot

PASSWORD = "Tsukimi7Dango42Kyoto"
# The house test cards, each with a security code that cannot be mistaken for anything else on a page.
CARDS = [("4242424242424242", "847"), ("5555555555554444", "563"), ("4000000000009995", "391")]
LOGIN_ERROR_JA = "メールアドレスまたはパスワードが正しくありません。"
LOGIN_ERROR_EN = "Invalid email or password."
CSRF = re.compile(r'<input(?=[^>]*\bname="csrf")[^>]*\bvalue="([^"]+)"')
PATATOR = "/usr/bin/patator"


# --------------------------------------------------------------------------------------------
# HTML: a small tolerant tree, enough to read ids, tables and forms.

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children).strip()

    def classes(self):
        return self.attrs.get("class", "").split()

    def by_id(self, ident):
        return next((n for n in self.iter() if n.attrs.get("id") == ident), None)

    def all(self, tag=None, cls=None):
        return [n for n in self.iter() if (tag is None or n.tag == tag) and (cls is None or cls in n.classes())]


class _Builder(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("#root", [], None)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, [(k, v or "") for k, v in attrs], self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, [(k, v or "") for k, v in attrs], self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(text):
    builder = _Builder()
    builder.feed(text)
    builder.close()
    return builder.root


def form_fields(form):
    """What a browser would submit from `form` untouched (submit buttons left out)."""
    fields = []
    for node in form.iter():
        name = node.attrs.get("name")
        if not name:
            continue
        if node.tag == "input":
            kind = node.attrs.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                continue
            if kind in ("checkbox", "radio") and "checked" not in node.attrs:
                continue
            fields.append((name, node.attrs.get("value", "")))
        elif node.tag == "select":
            options = node.all("option")
            chosen = next((o for o in options if "selected" in o.attrs), options[0] if options else None)
            if chosen is not None:
                fields.append((name, chosen.attrs.get("value", chosen.text())))
        elif node.tag == "textarea":
            fields.append((name, node.text()))
    return fields


# --------------------------------------------------------------------------------------------
# HTTP with cookies and without automatic redirects.

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Page:
    def __init__(self, status, headers, body, url):
        self.status, self.headers, self.url = status, headers, url
        self.text = body.decode("utf-8", "replace")
        self._dom = None

    @property
    def dom(self):
        if self._dom is None:
            self._dom = parse(self.text)
        return self._dom

    @property
    def location(self):
        return self.headers.get("Location")

    @property
    def location_path(self):
        return urllib.parse.urlsplit(self.location or "").path

    def by_id(self, ident):
        return self.dom.by_id(ident)

    def text_of(self, ident):
        node = self.by_id(ident)
        assert node is not None, f"no #{ident} on {self.url} ({self.status}): {self.text[:2000]}"
        return node.text()

    def form(self, ident):
        node = self.by_id(ident)
        assert node is not None and node.tag == "form", f"no form#{ident} on {self.url} ({self.status}): {self.text[:2000]}"
        return node

    def rows(self, table_id):
        table = self.by_id(table_id)
        assert table is not None, f"no #{table_id} on {self.url}: {self.text[:2000]}"
        return {row.attrs["data-id"]: row for row in table.all("tr") if "data-id" in row.attrs}

    def csrf(self):
        found = CSRF.search(self.text)
        assert found, f"no csrf input on {self.url}"
        return found.group(1)


class Client:
    """One browser-like session: its own cookie jar; every POST carries the page's Origin."""

    def __init__(self, server, cookie_name="kessai_console"):
        self.server = server
        self.cookie_name = cookie_name
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())

    def url(self, path):
        return path if path.startswith("http") else self.server.base + path

    def request(self, method, path, data=None, headers=None):
        request = urllib.request.Request(self.url(path), data=data, method=method)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with self.opener.open(request, timeout=60) as response:
                return Page(response.status, response.headers, response.read(), request.full_url)
        except urllib.error.HTTPError as error:
            return Page(error.code, error.headers, error.read(), request.full_url)

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def post(self, path, fields, headers=None):
        body = fields if isinstance(fields, bytes) else urllib.parse.urlencode(fields).encode()
        merged = {"Content-Type": "application/x-www-form-urlencoded", "Origin": self.server.base}
        merged.update(headers or {})
        return self.request("POST", path, data=body, headers=merged)

    def follow(self, page, limit=5):
        while page.status in (301, 302, 303, 307) and limit:
            page = self.get(urllib.parse.urljoin(page.url, page.location))
            limit -= 1
        return page

    def submit(self, page, form, values=(), omit=(), follow=True):
        """Posts `form` (a Node or a form id on `page`) with `values` over its own fields."""
        if isinstance(form, str):
            form = page.form(form)
        values = dict(values)
        fields = [(k, v) for k, v in form_fields(form) if k not in values and k not in omit]
        fields += [(k, v) for k, v in values.items() if k not in omit]
        action = urllib.parse.urljoin(page.url, form.attrs.get("action") or page.url)
        answer = self.post(action, fields)
        return self.follow(answer) if follow else answer

    def cookie(self, name=None):
        name = name or self.cookie_name
        return next((c.value for c in self.jar if c.name == name), None)


# --------------------------------------------------------------------------------------------
# TOTP: one use per code and account.

class Phone:
    """The authenticator app of one account: pyotp reading the enrollment's otpauth URI, and the
    last time step this account used, so that no code is offered twice (except on purpose).

    `current()` is the code of the current step, waiting for the next step when this one was used.
    `use(attempt)` saves the wait where the server allows it: when the next unused step is the next
    one, its code is offered at once (servers commonly accept one step of clock drift); if the
    server refuses it, the test waits for that step to begin and offers it again, which must then
    succeed. A refusal of the current code of an unused step fails the test."""

    def __init__(self, uri):
        self.totp = pyotp.parse_uri(uri)
        assert isinstance(self.totp, pyotp.TOTP) and self.totp.digits == 6 and self.totp.interval == 30, uri
        self.interval = self.totp.interval
        self.last = -1

    def code(self, step):
        return self.totp.at(step * self.interval)

    def _step(self, min_left):
        """The current step, once at least `min_left` seconds of it remain."""
        while True:
            now = time.time()
            left = self.interval - now % self.interval
            if left >= min_left:
                return int(now) // self.interval
            time.sleep(left + 0.3)

    def _sleep_until(self, step):
        time.sleep(max(0.0, step * self.interval - time.time()) + 0.3)

    def current(self, min_left=2.0):
        while True:
            step = self._step(min_left)
            if step > self.last:
                self.last = step
                return self.code(step)
            self._sleep_until(self.last + 1)

    def use(self, attempt, min_left=8.0):
        """Calls attempt(code) -> True when the server took the code; returns the code. The code
        of the current step is offered only with `min_left` seconds of it left (a sign-in in the
        browser takes a few seconds between reading the code and sending it)."""
        while True:
            clock = time.time()
            now = int(clock) // self.interval
            soonest = now if self.interval - clock % self.interval >= min_left else now + 1
            step = max(self.last + 1, soonest)
            if step <= now + 1:
                break
            self._sleep_until(step - 1)
        code = self.code(step)
        if attempt(code):
            self.last = step
            return code
        assert step > now, f"the current code of an unused step ({code}) was refused"
        self._sleep_until(step)
        assert attempt(code), f"the current code of an unused step ({code}) was refused"
        self.last = step
        return code


def wrong_code(totp):
    """Six digits that are not the code of the previous, current or next step."""
    now = time.time()
    near = {totp.at(now + offset) for offset in (-60, -30, 0, 30, 60)}
    return next(f"{n:06d}" for n in range(123457, 10**6, 111111) if f"{n:06d}" not in near)


# --------------------------------------------------------------------------------------------
# Kessai pieces.

def demo_merchant(server):
    found = re.search(r"Demo merchant created: .* \((\S+), code (\S+)\)", open(server.out_path).read())
    assert found, "the demo merchant's id is not in the server's output"
    return found.group(1)


def enrollment_path(result, base):
    """The path of the `enrollment URL: …` line of `operators create` / `users create`."""
    assert result.returncode == 0, result.stdout + result.stderr
    found = re.search(r"enrollment URL:\s*(\S+)", result.stdout)
    assert found, result.stdout
    path = urllib.parse.urlsplit(found.group(1)).path
    assert re.fullmatch(re.escape(base) + r"/enroll/[^/]+", path), found.group(1)
    return path


def create_operator(server, email, role):
    return enrollment_path(server.cli("operators", "create", email, "--role", role), "/console")


def create_user(server, email, merchant, role):
    return enrollment_path(server.cli("users", "create", email, "--merchant", merchant, "--role", role), "/dashboard")


def enroll(server, path, password=PASSWORD):
    """Enrolls over plain HTTP; returns (Phone, the 10 recovery codes)."""
    client = Client(server, "kessai_dashboard" if path.startswith("/dashboard") else "kessai_console")
    page = client.get(path)
    assert page.status == 200, (page.status, page.text[:2000])
    page = client.submit(page, "enroll-form", {"password": password, "password_confirm": password})
    assert page.status == 200 and page.by_id("error") is None, page.text[:2000]
    phone = Phone(page.text_of("otpauth"))
    assert re.sub(r"[\s=]", "", page.text_of("totp-secret")).upper() == phone.totp.secret.rstrip("=").upper()
    page = client.submit(page, "code-form", {"code": phone.current()})
    assert page.status == 200, (page.status, page.text[:2000])
    codes = [li.text() for li in page.by_id("recovery-codes").all("li")] if page.by_id("recovery-codes") else []
    assert len(codes) == 10 and len(set(codes)) == 10 and all(codes), page.text[:2000]
    return phone, codes


def try_login(client, base, email, password, code):
    """One sign-in from the login page; True when the code step sent us home. Keeps the pre-login
    cookie value in client.before."""
    page = client.get(base + "/login")
    assert page.status == 200 and page.form("login-form") is not None
    client.before = client.cookie()
    answer = client.submit(page, "login-form", {"email": email, "password": password}, follow=False)
    assert answer.status == 303 and answer.location_path == base + "/login/code", (answer.status, answer.location, answer.text[:2000])
    page = client.follow(answer)
    answer = client.submit(page, "code-form", {"code": code}, follow=False)
    if answer.status == 303 and answer.location_path.rstrip("/") == base:
        return True
    assert answer.status == 200 and answer.by_id("error") is not None, (answer.status, answer.location, answer.text[:2000])
    return False


def login(server, base, email, password, secret, client=None, min_left=8.0):
    """Signs in over plain HTTP with a recovery code (str) or the account's Phone; returns the Client."""
    client = client or Client(server, "kessai_dashboard" if base == "/dashboard" else "kessai_console")
    if isinstance(secret, Phone):
        secret.use(lambda code: try_login(client, base, email, password, code), min_left=min_left)
    else:
        assert try_login(client, base, email, password, secret), "a recovery code was refused"
    return client


def pay(server, number, cvc, amount, secret_key=None, publishable_key=None):
    method = stripe.PaymentMethod.create(
        type="card", card={"number": number, "exp_month": 12, "exp_year": 2031, "cvc": cvc},
        api_key=publishable_key or server.publishable_key)
    return stripe.PaymentIntent.create(
        amount=amount, currency="jpy", payment_method=method.id, confirm=True, api_key=secret_key or server.secret_key)


def ledger_rows(server, action):
    result = server.cli("ledger", "query", "--from", "0", "--to", "9999999999", "--action", action, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def assert_no_card_data(text, where):
    digits_only = re.sub(r"[\s\-]", "", text)
    for number, cvc in CARDS:
        assert number not in digits_only, f"card number {number} on {where}"
        assert not re.search(r"(?<![0-9A-Za-z.])" + cvc + r"(?![0-9A-Za-z.])", text), f"security code {cvc} on {where}"


# --------------------------------------------------------------------------------------------
# Chromium.

def clear_browser(driver):
    """Servers differ by port only, and cookies do not: start each test without any."""
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})


def path_of(driver):
    return urllib.parse.urlsplit(driver.current_url).path


def wait_path(driver, path, timeout=15):
    WebDriverWait(driver, timeout).until(lambda d: path_of(d).rstrip("/") == path.rstrip("/"))


def wait_id(driver, ident, timeout=15):
    return WebDriverWait(driver, timeout).until(lambda d: d.find_element(By.ID, ident))


def fill(driver, form_id, name, value):
    element = driver.find_element(By.CSS_SELECTOR, f'#{form_id} [name="{name}"]')
    if element.tag_name == "select":
        select = Select(element)
        if any(o.get_attribute("value") == value for o in select.options):
            select.select_by_value(value)
        return
    element.clear()
    element.send_keys(value)


def submit(driver, form_id, button="#submit"):
    old = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, ", ".join(f"#{form_id} {b.strip()}" for b in button.split(","))).click()
    WebDriverWait(driver, 20).until(lambda d: d.find_element(By.TAG_NAME, "html") != old)


def html_lang(driver):
    return driver.find_element(By.TAG_NAME, "html").get_attribute("lang")


def enroll_in_browser(driver, server, path, password=PASSWORD):
    driver.get(server.base + path)
    wait_id(driver, "enroll-form")
    for name in ("password", "password_confirm"):
        assert driver.find_element(By.CSS_SELECTOR, f'#enroll-form [name="{name}"]').get_attribute("autocomplete") == "new-password"
        fill(driver, "enroll-form", name, password)
    submit(driver, "enroll-form")
    phone = Phone(wait_id(driver, "otpauth").text)
    assert phone.totp.issuer and phone.totp.issuer.startswith("Kessai"), phone.totp.issuer
    assert re.sub(r"[\s=]", "", driver.find_element(By.ID, "totp-secret").text).upper() == phone.totp.secret.rstrip("=").upper()
    assert driver.find_element(By.CSS_SELECTOR, '#code-form [name="code"]').get_attribute("autocomplete") == "one-time-code"
    assert_no_card_data(driver.page_source, path)
    fill(driver, "code-form", "code", phone.current())
    submit(driver, "code-form")
    wait_id(driver, "recovery-codes")
    codes = [li.text.strip() for li in driver.find_elements(By.CSS_SELECTOR, "#recovery-codes li")]
    assert len(codes) == 10 and len(set(codes)) == 10 and all(codes), codes
    return phone, codes


def login_in_browser(driver, server, base, email, password, secret):
    """Signs in from the login page with a recovery code (str) or the account's Phone."""

    def attempt(code):
        driver.get(server.base + base + "/login")
        wait_id(driver, "login-form")
        assert driver.find_element(By.CSS_SELECTOR, '#login-form [name="email"]').get_attribute("autocomplete") == "username"
        assert driver.find_element(By.CSS_SELECTOR, '#login-form [name="password"]').get_attribute("autocomplete") == "current-password"
        fill(driver, "login-form", "email", email)
        fill(driver, "login-form", "password", password)
        submit(driver, "login-form")
        wait_path(driver, base + "/login/code")
        fill(driver, "code-form", "code", code)
        submit(driver, "code-form")
        if path_of(driver).rstrip("/") == base.rstrip("/"):
            return True
        assert driver.find_elements(By.ID, "error"), (driver.current_url, driver.page_source[:2000])
        return False

    if isinstance(secret, Phone):
        secret.use(attempt)
    else:
        assert attempt(secret), "a recovery code was refused"
    assert driver.find_elements(By.ID, "logout-form"), "no logout form on the signed-in home page"


def step_up_in_browser(driver, url, form_id, fields, button, success_id, phone):
    """Fills `form_id` on `url` with `fields` plus the password and a TOTP code and submits it;
    tried again with a code of the next step if the first is refused (see Phone.use)."""

    def attempt(code):
        driver.get(url)
        wait_id(driver, form_id)
        for name, value in list(fields.items()) + [("password", PASSWORD), ("code", code)]:
            fill(driver, form_id, name, value)
        submit(driver, form_id, button)
        WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.ID, success_id) or d.find_elements(By.ID, "error"))
        return bool(driver.find_elements(By.ID, success_id))

    phone.use(attempt)
    assert not driver.find_elements(By.ID, "error"), driver.page_source[:2000]


# --------------------------------------------------------------------------------------------

def test_operator_enrollment_and_login_in_chromium(browser, server):
    visa = pay(server, "4242424242424242", "847", 5000)
    master = pay(server, "5555555555554444", "563", 1200)
    assert visa.status == "succeeded" and master.status == "succeeded"
    with pytest.raises(stripe.CardError):
        pay(server, "4000000000009995", "391", 3000)
    declined = stripe.PaymentIntent.list(limit=10, api_key=server.secret_key).data
    declined = [p for p in declined if p.status == "requires_payment_method"]
    assert len(declined) == 1
    merchant = demo_merchant(server)

    email = "ayako.admin@example.com"
    path = create_operator(server, email, "admin")
    clear_browser(browser)
    phone, codes = enroll_in_browser(browser, server, path)
    assert_no_card_data(browser.page_source, "recovery codes")
    browser.find_element(By.ID, "continue").click()
    wait_path(browser, "/console/login")
    # The enrollment link worked once.
    used = Client(server).get(path)
    assert used.status == 404 and used.by_id("error") is not None

    assert html_lang(browser) == "ja"
    login_in_browser(browser, server, "/console", email, PASSWORD, phone)
    assert browser.find_element(By.TAG_NAME, "h1").text.strip()

    pages = [
        ("home", "/console", lambda d: d.find_element(By.CSS_SELECTOR, "dl#health")),
        ("merchants", "/console/merchants", lambda d: d.find_element(By.CSS_SELECTOR, f'#merchants tr[data-id="{merchant}"]')),
        ("payments", "/console/payments?q=4242", lambda d: d.find_element(By.CSS_SELECTOR, f'#payments tr[data-id="{visa.id}"]')),
        ("payment", f"/console/payments/{visa.id}", lambda d: d.find_element(By.CSS_SELECTOR, "dl#payment") and d.find_element(By.CSS_SELECTOR, "ol#timeline")),
    ]
    for language in ("ja", "en"):
        if language == "en":
            browser.get(server.base + "/console/lang?set=en")
            WebDriverWait(browser, 15).until(lambda d: html_lang(d) == "en")
            assert (browser.get_cookie("kessai_lang") or {}).get("value") == "en"
        for name, url, present in pages:
            browser.get(server.base + url)
            WebDriverWait(browser, 15).until(present)
            assert html_lang(browser) == language, (url, html_lang(browser))
            assert path_of(browser).rstrip("/") == urllib.parse.urlsplit(url).path, "signed out on the way"
            assert_no_card_data(browser.page_source, f"{url} ({language})")
            screenshot(browser, f"console-{name}-{language}-{server.backend}")
        # The search by last4 finds the Visa payment and not the declined one.
        browser.get(server.base + "/console/payments?q=4242")
        ids = {row.get_attribute("data-id") for row in browser.find_elements(By.CSS_SELECTOR, "#payments tr[data-id]")}
        assert visa.id in ids and master.id not in ids and declined[0].id not in ids, ids
        browser.get(server.base + f"/console/payments?q={declined[0].id}")
        ids = {row.get_attribute("data-id") for row in browser.find_elements(By.CSS_SELECTOR, "#payments tr[data-id]")}
        assert ids == {declined[0].id}, ids
        assert_no_card_data(browser.page_source, f"search for the declined payment ({language})")
    clear_browser(browser)
    # Nothing of the cards anywhere on disk, in the logs or the database either.
    scan_for_card_data(server, CARDS)


def test_dashboard_refund_seen_by_stripe_library(browser, server):
    intent = pay(server, "4242424242424242", "847", 5000)
    assert intent.status == "succeeded"
    email = "owner.hanako@example.com"
    path = create_user(server, email, demo_merchant(server), "owner")
    clear_browser(browser)
    phone, codes = enroll_in_browser(browser, server, path)
    # Sign in with a recovery code: the step-up below is then the account's second TOTP code.
    login_in_browser(browser, server, "/dashboard", email, PASSWORD, codes[0])
    WebDriverWait(browser, 15).until(lambda d: d.find_element(By.CSS_SELECTOR, f'#payments tr[data-id="{intent.id}"]'))
    assert_no_card_data(browser.page_source, "/dashboard")

    detail = f"{server.base}/dashboard/payments/{intent.id}"
    # Without the right password and code nothing is refunded.
    browser.get(detail)
    wait_id(browser, "refund-form")
    for name, value in (("amount", "2000"), ("reason", "requested_by_customer"), ("password", "Wrong7Password99"), ("code", wrong_code(phone.totp))):
        fill(browser, "refund-form", name, value)
    submit(browser, "refund-form", "#refund")
    wait_id(browser, "error")
    assert not browser.find_elements(By.ID, "notice")
    assert stripe.Refund.list(payment_intent=intent.id, api_key=server.secret_key).data == []

    browser.get(detail)
    wait_id(browser, "payment")
    assert_no_card_data(browser.page_source, detail)
    screenshot(browser, f"dashboard-payment-ja-{server.backend}")
    step_up_in_browser(browser, detail, "refund-form", {"amount": "2000", "reason": "requested_by_customer"}, "#refund", "notice", phone)
    screenshot(browser, f"dashboard-refunded-ja-{server.backend}")

    refunds = stripe.Refund.list(payment_intent=intent.id, api_key=server.secret_key).data
    assert len(refunds) == 1, refunds
    assert refunds[0].amount == 2000 and refunds[0].status == "succeeded" and refunds[0].payment_intent == intent.id
    again = stripe.PaymentIntent.retrieve(intent.id, api_key=server.secret_key)
    assert again.status == "succeeded" and again.amount_received == 5000
    charge = stripe.Charge.retrieve(again.latest_charge, api_key=server.secret_key)
    assert charge.amount_refunded == 2000 and charge.refunded is False
    assert "refund.created" in {e.type for e in stripe.Event.list(limit=100, api_key=server.secret_key).data}
    clear_browser(browser)


def test_dashboard_key_roll_old_key_401(browser, server):
    old = server.secret_key
    before = pay(server, "5555555555554444", "563", 1200)
    assert stripe.PaymentIntent.list(limit=1, api_key=old).data
    email = "dev.jiro@example.com"
    path = create_user(server, email, demo_merchant(server), "developer")
    clear_browser(browser)
    phone, codes = enroll_in_browser(browser, server, path)
    login_in_browser(browser, server, "/dashboard", email, PASSWORD, codes[3])

    browser.get(server.base + "/dashboard/keys")
    wait_id(browser, "roll-keys")
    assert old not in browser.page_source, "the secret key is shown once, at creation"
    step_up_in_browser(browser, server.base + "/dashboard/keys", "roll-keys", {}, 'button, [type="submit"]', "new-secret-key", phone)
    new = browser.find_element(By.ID, "new-secret-key").text.strip()
    assert re.fullmatch(r"sk_test_\w+", new) and new != old, new
    screenshot(browser, f"dashboard-keys-rolled-{server.backend}")

    with pytest.raises(stripe.AuthenticationError) as refused:
        stripe.PaymentIntent.list(limit=1, api_key=old)
    assert refused.value.http_status == 401
    assert stripe.PaymentIntent.retrieve(before.id, api_key=new).status == "succeeded"
    assert stripe.PaymentIntent.list(limit=1, api_key=new).data
    # Shown once: the page does not show it again.
    browser.get(server.base + "/dashboard/keys")
    wait_id(browser, "roll-keys")
    assert new not in browser.page_source and not browser.find_elements(By.ID, "new-secret-key")
    clear_browser(browser)


def test_dual_control_admin_creation(browser, server):
    """In Chromium: admin A asks for a new admin (no link yet), cannot approve their own request,
    admin B approves with step-up and gets the single-use link, and the new admin enrolls."""
    first, second = "admin.a@example.com", "admin.b@example.com"
    phone_a, codes_a = enroll(server, create_operator(server, first, "admin"))
    phone_b, codes_b = enroll(server, create_operator(server, second, "admin"))

    clear_browser(browser)
    login_in_browser(browser, server, "/console", first, PASSWORD, codes_a[0])
    browser.get(server.base + "/console/operators")
    wait_id(browser, "create-operator")
    fill(browser, "create-operator", "email", "admin.c@example.com")
    fill(browser, "create-operator", "role", "admin")
    submit(browser, "create-operator")
    wait_id(browser, "notice")
    assert not browser.find_elements(By.ID, "error") and not browser.find_elements(By.ID, "enrollment-url")
    assert "/console/enroll/" not in browser.page_source

    browser.get(server.base + "/console/approvals")
    rows = browser.find_elements(By.CSS_SELECTOR, "#approvals tr[data-id]")
    assert len(rows) == 1, browser.page_source[:2000]
    request_id = rows[0].get_attribute("data-id")
    assert request_id.startswith("apr_") and "admin.c@example.com" in rows[0].text
    screenshot(browser, f"console-approvals-ja-{server.backend}")
    # A's right password and a fresh code of A's: refused, because A asked.
    form = f"approve-{request_id}"
    fill(browser, form, "password", PASSWORD)
    fill(browser, form, "code", phone_a.current())
    submit(browser, form, "#approve")
    wait_id(browser, "error")
    assert not browser.find_elements(By.ID, "enrollment-url") and "/console/enroll/" not in browser.page_source

    clear_browser(browser)
    login_in_browser(browser, server, "/console", second, PASSWORD, codes_b[0])

    def approve(code):
        browser.get(server.base + "/console/approvals")
        wait_id(browser, form)
        fill(browser, form, "password", PASSWORD)
        fill(browser, form, "code", code)
        submit(browser, form, "#approve")
        WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.ID, "enrollment-url") or d.find_elements(By.ID, "error"))
        return bool(browser.find_elements(By.ID, "enrollment-url"))

    phone_b.use(approve)
    url = browser.find_element(By.ID, "enrollment-url").text.strip()
    path = urllib.parse.urlsplit(url).path
    assert re.fullmatch(r"/console/enroll/[^/]+", path), url
    screenshot(browser, f"console-approved-ja-{server.backend}")

    clear_browser(browser)
    phone_c, codes_c = enroll_in_browser(browser, server, path)
    login_in_browser(browser, server, "/console", "admin.c@example.com", PASSWORD, codes_c[0])
    browser.get(server.base + "/console/operators")
    wait_id(browser, "create-operator")
    clear_browser(browser)
    assert Client(server).get(path).status == 404, "an enrollment link works once"
    approvals = ledger_rows(server, "console.approval.requested")
    assert len(approvals) == 1


def navigation_status(driver):
    """The HTTP status of the page the browser shows (Navigation Timing Level 2)."""
    return driver.execute_script("return performance.getEntriesByType('navigation')[0].responseStatus")


def test_merchant_user_cannot_see_other_merchant_payment(browser, server):
    """In Chromium: a merchant's user opening another merchant's payment gets 404 and nothing of
    it; their own pages, in Japanese and English, show their own payments only."""
    made = server.cli("merchants", "create", "Kitsune Books", "--json")
    assert made.returncode == 0, made.stderr
    other = json.loads(made.stdout.strip().splitlines()[-1])
    theirs = pay(server, "5555555555554444", "563", 7777, secret_key=other["secret_key"], publishable_key=other["publishable_key"])
    ours = pay(server, "4242424242424242", "847", 5000)
    assert theirs.status == ours.status == "succeeded"
    with pytest.raises(stripe.InvalidRequestError):
        stripe.PaymentIntent.retrieve(theirs.id, api_key=server.secret_key)

    email = "viewer.ken@example.com"
    phone, codes = enroll(server, create_user(server, email, demo_merchant(server), "view_only"))
    clear_browser(browser)
    login_in_browser(browser, server, "/dashboard", email, PASSWORD, codes[0])

    browser.get(f"{server.base}/dashboard/payments/{theirs.id}")
    wait_id(browser, "error")
    assert navigation_status(browser) == 404
    assert "7,777" not in browser.page_source and "7777" not in browser.page_source and "Kitsune" not in browser.page_source
    assert not browser.find_elements(By.ID, "payment")
    assert_no_card_data(browser.page_source, "another merchant's payment")

    for language in ("ja", "en"):
        if language == "en":
            browser.get(server.base + "/dashboard/lang?set=en")
            WebDriverWait(browser, 15).until(lambda d: html_lang(d) == "en")
        browser.get(server.base + "/dashboard")
        WebDriverWait(browser, 15).until(lambda d: d.find_element(By.CSS_SELECTOR, f'#payments tr[data-id="{ours.id}"]'))
        assert html_lang(browser) == language
        listed = {row.get_attribute("data-id") for row in browser.find_elements(By.CSS_SELECTOR, "#payments tr[data-id]")}
        assert ours.id in listed and theirs.id not in listed, listed
        assert_no_card_data(browser.page_source, f"/dashboard ({language})")
        screenshot(browser, f"dashboard-payments-{language}-{server.backend}")
        browser.get(f"{server.base}/dashboard/payments/{ours.id}")
        wait_id(browser, "payment")
        assert navigation_status(browser) == 200 and ours.id in browser.page_source
        assert_no_card_data(browser.page_source, f"own payment ({language})")
        screenshot(browser, f"dashboard-own-payment-{language}-{server.backend}")
        browser.get(f"{server.base}/dashboard/payments/{theirs.id}")
        wait_id(browser, "error")
        assert navigation_status(browser) == 404 and html_lang(browser) == language
    clear_browser(browser)


def test_patator_locks_account(server, tmp_path):
    if not os.path.exists(PATATOR):
        pytest.skip("Debian's patator is not installed")
    email = "support.yui@example.com"
    enroll(server, create_operator(server, email, "support"))
    words = [f"Guess{n:02d}wrong{n * 7}" for n in range(14)] + [PASSWORD]
    wordlist = tmp_path / "words.txt"
    wordlist.write_text("\n".join(words) + "\n")

    # patator reads keyboard commands from stdin and prints progress on every empty line or EOF:
    # give it a pipe that stays open and silent.
    quiet, keep = os.pipe()
    try:
        run = subprocess.run(
            ["/usr/bin/python3", PATATOR, "http_fuzz", f"url={server.base}/console/login", "method=POST",
             f"body=email={email}&password=FILE0&csrf=_CSRF_", f"0={wordlist}",
             f"before_urls={server.base}/console/login", "before_egrep=_CSRF_:" + CSRF.pattern,
             "accept_cookie=1", "persistent=0", "resolve=127.0.0.1:127.0.0.1", f"header=Origin: {server.base}",
             "-t", "1", "--max-retries", "1"],
            stdin=quiet, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    finally:
        os.close(quiet)
        os.close(keep)
    log = run.stderr + run.stdout
    summary = re.search(r"Hits/Done/Skip/Fail/Size: (\d+)/(\d+)/(\d+)/(\d+)/(\d+)", log)
    assert summary, log
    hits, done, skipped, failed, size = map(int, summary.groups())
    assert (done, failed, size) == (15, 0, 15), log
    codes = {}
    for line in log.splitlines():
        result = re.search(r"INFO - (\d{3})\s+\S+\s+\S+\s+\|\s+(\S+)\s+\|\s+(\d+)\s+\|", line)
        if result:
            codes[result.group(2)] = result.group(1)
    # Every guess, the right password last, got the same refusal page; none went on to the code step.
    assert codes == {word: "200" for word in words}, log

    client = Client(server)
    page = client.get("/console/login")
    refused = client.submit(page, "login-form", {"email": email, "password": PASSWORD}, follow=False)
    assert refused.status == 200 and refused.location is None
    assert refused.text_of("error") == LOGIN_ERROR_JA
    stranger = Client(server)
    unknown = stranger.submit(stranger.get("/console/login"), "login-form", {"email": "nobody@example.com", "password": PASSWORD}, follow=False)
    assert unknown.status == 200 and unknown.text_of("error") == refused.text_of("error")

    deadline = time.time() + 15
    while True:
        attempts, lockouts = ledger_rows(server, "console.login"), ledger_rows(server, "console.lockout")
        if (len(attempts) >= 17 and lockouts) or time.time() > deadline:
            break
        time.sleep(0.5)
    assert len(attempts) >= 16 and lockouts, (attempts, lockouts)
    assert all(row["action"] == "console.login" for row in attempts)
    assert not [row for row in attempts if row["outcome"] == "success"], "no attempt succeeded"
    assert all(row["outcome"].startswith("failure") for row in attempts), [row["outcome"] for row in attempts]
    guesses = sorted(attempts, key=lambda row: int(row["seq"]))[:15]
    # The lock came before the 11th guess at the latest.
    assert min(int(row["seq"]) for row in lockouts) < int(guesses[10]["seq"]), (lockouts, guesses)
    # The sentinel saw the brute force: one incident for the source, one for the locked account.
    deadline = time.monotonic() + 60
    while True:
        listed = json.loads(server.cli("incidents", "list", "--json").stdout)
        kinds = [i["kind"] for i in listed]
        if "console_login_attack" in kinds and "console_lockout" in kinds:
            break
        assert time.monotonic() < deadline, listed
        time.sleep(1)
    assert kinds.count("console_login_attack") == 1 and kinds.count("console_lockout") == 1, listed
    attack = next(i for i in listed if i["kind"] == "console_login_attack")
    assert attack["source"] == "127.0.0.1" and "127.0.0.1" in attack["summary"] and attack["severity"] == "high"


@pytest.mark.server_args("--console-idle-timeout", "3")
def test_session_security(server):
    email = "viewer.sora@example.com"
    phone, codes = enroll(server, create_operator(server, email, "viewer"))

    # A POST without a csrf token, or with another session's, is refused before anything else.
    anonymous = Client(server)
    page = anonymous.get("/console/login")
    for fields in ({"email": email, "password": PASSWORD}, {"email": email, "password": PASSWORD, "csrf": "A" * 43}):
        refused = anonymous.post("/console/login", fields)
        assert refused.status == 403 and refused.by_id("error") is not None, (refused.status, refused.text[:500])

    cookies = [h for h in page.headers.get_all("Set-Cookie") or [] if h.startswith("kessai_console=")]
    assert cookies, page.headers
    assert "httponly" in cookies[0].lower() and "samesite=strict" in cookies[0].lower(), cookies[0]

    first = Client(server)
    # At least 10 s left in the 30-second step: the second use below falls in the same step.
    login(server, "/console", email, PASSWORD, phone, client=first, min_left=10)
    code, before = phone.code(phone.last), first.before
    assert before
    after = first.cookie()
    assert after and after != before, "the session cookie must change at sign-in"
    home = first.get("/console")
    assert home.status == 200 and home.by_id("health") is not None

    # The pre-login cookie value is worth nothing now.
    stale = Client(server).get("/console", headers={"Cookie": f"kessai_console={before}"})
    assert stale.status == 303 and stale.location_path == "/console/login"
    # Logout without a token, or with another session's token, is refused and leaves the session.
    assert first.post("/console/logout", {}).status == 403
    other = Client(server)
    foreign = other.get("/console/login").csrf()
    assert first.post("/console/logout", {"csrf": foreign}).status == 403
    assert first.get("/console").status == 200

    # The same code a second time, in the same step, from another session: refused.
    second = Client(server)
    page = second.get("/console/login")
    answer = second.submit(page, "login-form", {"email": email, "password": PASSWORD}, follow=False)
    assert answer.status == 303 and answer.location_path == "/console/login/code"
    page = second.follow(answer)
    reused = second.submit(page, "code-form", {"code": code}, follow=False)
    assert reused.status == 200 and reused.text_of("error"), (reused.status, reused.location)
    assert second.get("/console").status == 303

    # Idle for longer than --console-idle-timeout: back to the login page.
    time.sleep(4)
    idle = first.get("/console")
    assert idle.status == 303 and idle.location_path == "/console/login", (idle.status, idle.location)


def test_bad_input_never_500(server):
    intent = pay(server, "4242424242424242", "847", 5000)
    email = "admin.kaito@example.com"
    path = create_operator(server, email, "admin")
    # Refused passwords re-render the form with an error.
    client = Client(server)
    page = client.get(path)
    for password, confirm in (("short1", "short1"), ("admin.kaito" + "A1b2c3d4", "admin.kaito" + "A1b2c3d4"),
                              ("OnlyLettersHereXYZ", "OnlyLettersHereXYZ"), ("4815162342108", "4815162342108"), (PASSWORD, PASSWORD + "x")):
        page = client.submit(page, "enroll-form", {"password": password, "password_confirm": confirm})
        assert page.status < 500 and page.by_id("error") is not None and page.by_id("otpauth") is None, (password, page.status)
    # A refused password does not use up the link.
    phone, codes = enroll(server, path)
    admin = login(server, "/console", email, PASSWORD, codes[0])

    def check(name, answer):
        assert answer.status < 500, (name, answer.status, answer.text[:500])
        return answer

    big = "a" * 10000 + "@example.com"
    anonymous = Client(server)
    check("login email 10 kB", anonymous.submit(anonymous.get("/console/login"), "login-form", {"email": big, "password": "x" * 10000}, follow=False))
    check("login empty password", anonymous.submit(anonymous.get("/console/login"), "login-form", {"email": email, "password": ""}, follow=False))
    halfway = Client(server)
    answer = halfway.submit(halfway.get("/console/login"), "login-form", {"email": email, "password": PASSWORD}, follow=False)
    assert answer.status == 303
    code_page = halfway.follow(answer)
    overlong = check("code 10 kB", halfway.submit(code_page, "code-form", {"code": "9" * 10000}, follow=False))
    assert overlong.status != 303 and overlong.location is None
    check("login json", anonymous.post("/console/login", b'{"email": 1}', headers={"Content-Type": "application/json"}))
    csrf = anonymous.get("/console/login").csrf()
    check("login duplicate keys", anonymous.post("/console/login", f"csrf={csrf}&csrf={csrf}&email=a&email=b&password=x".encode()))
    check("login bad percent", anonymous.post("/console/login", f"csrf={csrf}&email=%ff%fe%&password=%".encode()))

    operators = admin.get("/console/operators")
    check("operator email 10 kB", admin.submit(operators, "create-operator", {"email": big, "role": "viewer"}))
    check("operator role", admin.submit(admin.get("/console/operators"), "create-operator", {"email": "x@example.com", "role": "superuser"}))
    check("operator no email", admin.submit(admin.get("/console/operators"), "create-operator", {"role": "viewer"}, omit=("email",)))
    check("merchant name 10 kB", admin.submit(admin.get("/console/merchants"), "create-merchant", {"name": "名" * 10000}))
    for unknown in ("/console/payments/pi_nope", "/console/merchants/mch_nope", "/console/merchants/acct_nope", "/console/approvals/apr_nope"):
        answer = check(unknown, admin.get(unknown))
        if unknown != "/console/approvals/apr_nope":
            assert answer.status == 404 and answer.by_id("error") is not None, (unknown, answer.status)
    detail = check("payment detail", admin.get(f"/console/payments/{intent.id}"))
    assert detail.status == 200 and detail.by_id("payment") is not None
    # amount=abc with the next step's code, which a server allowing one step of drift takes, so that
    # the amount itself is parsed; the other amounts with a wrong code. Few: step-up failures may count.
    phone.last += 1
    for amount, code in (("abc", phone.code(phone.last)), ("-5", wrong_code(phone.totp)), ("99999999999999999999999", wrong_code(phone.totp))):
        check(f"refund amount {amount!r}", admin.submit(admin.get(f"/console/payments/{intent.id}"), "refund-form",
                                                        {"amount": amount, "reason": "x" * 5000, "password": PASSWORD, "code": code}))
    assert stripe.Refund.list(payment_intent=intent.id, api_key=server.secret_key).data == []

    search = "q" * 5000
    check("search 5 kB", admin.get("/console/payments?q=" + search))
    check("search bad utf-8", admin.get("/console/payments?q=%ff%fe"))
    check("ledger action 5 kB", admin.get("/console/ledger?action=" + search))
    check("long id", admin.get("/console/payments/pi_" + "x" * 5000))
    check("lang 5 kB", admin.get("/console/lang?set=" + "x" * 5000))
    # Still up, and the session still works.
    assert admin.get("/console").status == 200
    assert urllib.request.urlopen(server.base + "/ready", timeout=10).status == 200


def test_day_to_day_pages_origins_endpoints_search_and_suspension(server):
    """A developer adds an embedding origin and a webhook endpoint from the dashboard; an operator
    finds a payment by brand and day, and suspends the merchant: its key is refused until resumed."""
    merchant = demo_merchant(server)
    visa = pay(server, "4242424242424242", "847", 2500)
    master = pay(server, "5555555555554444", "563", 2600)
    phone, codes = enroll(server, create_user(server, "dev.hana@example.com", merchant, "developer"))
    dev = login(server, "/dashboard", "dev.hana@example.com", PASSWORD, codes[0], client=Client(server, "kessai_dashboard"))
    page = dev.get("/dashboard/origins")
    added = dev.submit(page, "add-origin", {"origin": "https://shop.example"})
    assert added.status == 200 and added.by_id("notice") is not None and "https://shop.example" in added.text
    bad = dev.submit(dev.get("/dashboard/origins"), "add-origin", {"origin": "javascript:alert(1)"})
    assert bad.status == 200 and bad.by_id("error") is not None
    hooks = dev.get("/dashboard/webhooks")
    made = dev.submit(hooks, "create-endpoint", {"url": "https://hooks.shop.example/kessai", "events": "payment_intent.succeeded, charge.refunded"})
    assert made.status == 200 and made.text_of("new-webhook-secret").startswith("whsec_"), made.text[:1500]
    refused = dev.submit(dev.get("/dashboard/webhooks"), "create-endpoint", {"url": "https://hooks.shop.example/x", "events": "not.an.event"})
    assert refused.by_id("error") is not None
    endpoints = stripe.WebhookEndpoint.list(api_key=server.secret_key).data
    assert [e.url for e in endpoints] == ["https://hooks.shop.example/kessai"]
    # The merchant's events, as GET /v1/events lists them.
    listed = {e.id for e in stripe.Event.list(limit=50, api_key=server.secret_key).data}
    shown = set(dev.get("/dashboard/webhooks").rows("events"))
    assert listed and shown == listed, (shown, listed)

    phone_a, codes_a = enroll(server, create_operator(server, "ops.ren@example.com", "admin"))
    admin = login(server, "/console", "ops.ren@example.com", PASSWORD, codes_a[0])
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 9 * 3600))
    found = admin.get(f"/console/payments?brand=mastercard&from={today}&to={today}")
    assert found.status == 200 and set(found.rows("payments")) == {master.id}, found.text[:1500]
    assert set(admin.get("/console/payments?amount=2500").rows("payments")) == {visa.id}
    # Merchants: a part of the name finds the shop, in any case; a name that matches nothing finds none.
    assert set(admin.get("/console/merchants?q=" + merchant[-8:].swapcase()).rows("merchants")) == {merchant}
    assert admin.get("/console/merchants?q=no-such-shop-zz").rows("merchants") == {}
    assert admin.get("/console/merchants?q=4242%204242%204242%204242").status == 400
    detail = admin.get(f"/console/merchants/{merchant}")
    suspended = admin.submit(detail, "suspend")
    assert suspended.status == 200 and suspended.by_id("notice") is not None
    with pytest.raises(stripe.PermissionError):
        stripe.PaymentIntent.list(limit=1, api_key=server.secret_key)
    admin.submit(admin.get(f"/console/merchants/{merchant}"), "resume")
    assert stripe.PaymentIntent.list(limit=1, api_key=server.secret_key).data


def test_console_answers_only_on_its_own_listener_when_one_is_set(tmp_path):
    # Production's default (an internal listener at the gateway's port + 1), chosen here by
    # --console-listen: the operator console is not on the public port; the dashboard is.
    console_port = free_port()
    server = Server("sqlite", str(tmp_path), extra_args=("--console-listen", f"127.0.0.1:{console_port}"))
    server.start()
    try:
        def status(url):
            try:
                with urllib.request.urlopen(url, timeout=10) as reply:
                    return reply.status
            except urllib.error.HTTPError as e:
                return e.code

        internal = f"http://127.0.0.1:{console_port}"
        assert status(server.base + "/console/login") == 404
        assert status(internal + "/console/login") == 200
        assert status(server.base + "/dashboard/login") == 200
        assert status(internal + "/dashboard/login") == 404
        assert status(internal + "/v1/openapi.json") == 404, "the merchant API is not on the admin listener"
    finally:
        assert server.stop() == 0


def test_production_puts_the_console_on_an_internal_listener_by_default(tmp_path):
    """`--mode production` with no --console-listen: the operator console answers only on
    127.0.0.1 at the gateway's port + 1; the public port has the dashboard and the API only."""
    from conftest import BINARY

    key_file = tmp_path / "keys" / "kessai.keys"
    key_file.parent.mkdir(mode=0o700)
    made = subprocess.run([BINARY, "vault", "create-key-file", str(key_file)], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stdout + made.stderr
    server = Server("sqlite", str(tmp_path / "production"), extra_args=("--mode", "production", "--key-file", str(key_file), "--no-watch-binary"))

    def bindable(port):
        import socket
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return True
            except OSError:
                return False

    while not bindable(server.port + 1):
        server.port = free_port()
        server.base = f"http://127.0.0.1:{server.port}"
    server.start_existing()
    try:
        def status(url):
            try:
                with urllib.request.urlopen(url, timeout=10) as reply:
                    return reply.status
            except urllib.error.HTTPError as e:
                return e.code

        internal = f"http://127.0.0.1:{server.port + 1}"
        assert status(server.base + "/console/login") == 404, "the admin door is not on the public port"
        assert status(internal + "/console/login") == 200
        assert status(server.base + "/dashboard/login") == 200
        assert status(internal + "/dashboard/login") == 404
        assert status(server.base + "/v1/openapi.json") == 200 and status(internal + "/v1/openapi.json") == 404
        assert "operator console listening" in open(server.log_path).read()
    finally:
        assert server.stop() == 0

