"""Breach response on live servers: the exposure scope for one process and window is exactly the
cards paid through it then — nothing missing, nothing extra — per merchant, on PostgreSQL with
two processes and on the SQLite default with one."""
import json
import os
import re
import tempfile
import time

import pytest
import stripe

from conftest import Server, make_database, scan_for_card_data

CARDS = {
    "a": "4242424242424242", "b": "5555555555554444", "c": "378282246310005",
    "d": "4000056655665556", "e": "3566002020360505",
}


def cvc(number):
    """The test's security codes: rare enough that a code standing alone in any output is a leak."""
    return "9876" if number.startswith("37") else "987"


def assert_no_security_code(text):
    for code in ("987", "9876"):
        assert not re.search(rf"(?<![0-9A-Za-z.]){code}(?![0-9A-Za-z.])", text), f"security code {code} in the output"


def client(server, key):
    return stripe.StripeClient(key, base_addresses={"api": server.base}, max_network_retries=0)


def pay(server, publishable, secret, number):
    method = client(server, publishable).v1.payment_methods.create(
        params={"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2033, "cvc": cvc(number)}})
    intent = client(server, secret).v1.payment_intents.create(
        params={"amount": 1500, "currency": "jpy", "payment_method": method.id, "confirm": True})
    assert intent.status == "succeeded"
    return method.id, intent.id


def scope(server, start, end, *filters):
    result = server.cli("incident", "scope", "--from", str(start), "--to", str(end), *filters, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def read_cards(answer):
    return {m["merchant"]: sorted(c["payment_method"] for c in m["read_in_clear"]) for m in answer["merchants"] if m["read_in_clear"]}


@pytest.mark.skipif(not os.environ.get("KESSAI_E2E_PG_URL"), reason="needs PostgreSQL")
def test_two_processes_scope_is_exact_per_instance_and_merchant():
    url = make_database(os.environ["KESSAI_E2E_PG_URL"])
    shared = tempfile.mkdtemp(prefix="kessai-scope-")
    os.makedirs(os.path.join(shared, "a"))
    os.makedirs(os.path.join(shared, "b"))
    web1 = Server("postgres", os.path.join(shared, "a"), url, extra_args=("--instance", "web-1"))
    web1.data_dir = os.path.join(shared, "data")
    web1.start()
    web2 = Server("postgres", os.path.join(shared, "b"), url, extra_args=("--instance", "web-2"))
    web2.data_dir = web1.data_dir
    try:
        web2.start_existing()
        second = json.loads(web1.cli("merchants", "create", "Second Shop", "--json").stdout)
        shops = {"demo": (web1.publishable_key, web1.secret_key), "second": (second["publishable_key"], second["secret_key"])}
        import re
        demo_id = re.search(r"Demo merchant created: .* \((acct_\w+),", open(web1.out_path).read()).group(1)
        before = int(time.time()) - 1
        # A card paid before the window on web-1 must not count.
        early, _ = pay(web1, *shops["demo"], CARDS["e"])
        time.sleep(2)
        start = int(time.time())
        paid = {"web-1": {}, "web-2": {}}
        plan = [("web-1", "demo", "a"), ("web-1", "demo", "b"), ("web-2", "demo", "c"), ("web-1", "second", "d"), ("web-2", "second", "a"),
                ("web-2", "second", "d")]
        servers = {"web-1": web1, "web-2": web2}
        for instance, shop, card in plan:
            method, _ = pay(servers[instance], *shops[shop], CARDS[card])
            merchant = demo_id if shop == "demo" else second["id"]
            paid[instance].setdefault(merchant, set()).add(method)
        end = int(time.time()) + 1
        time.sleep(2.5)  # sequenced and under a checkpoint
        assert web1.cli("ledger", "checkpoint").returncode == 0
        for instance in ("web-1", "web-2"):
            answer = scope(web1, start, end, "--instance", instance)
            assert answer["exact"] is True and answer["ledger"]["verified"] is True and answer["ledger"]["checkpoint"]["size"] > 0
            expected = {m: sorted(p) for m, p in paid[instance].items()}
            assert read_cards(answer) == expected, (instance, read_cards(answer), expected)
            for merchant in answer["merchants"]:
                for card in merchant["read_in_clear"]:
                    # Each card: tokenized through this process (its number passed through), then read to authorize.
                    assert [r["purpose"] for r in card["reads"]] == ["tokenization", "authorization"], card
                    assert all(r["instance"] == instance for r in card["reads"])
                    assert card["reads"][0]["payment_intent"] is None and card["reads"][1]["payment_intent"].startswith("pi_")
                # Codes in reach: exactly what was tokenized through this process in the window.
                mine = paid[instance].get(merchant["merchant"], set())
                assert set(merchant["security_codes_in_reach"]) == mine, (instance, merchant)
        # The two processes' lists are disjoint per merchant (each card token was paid through one).
        one, two = read_cards(scope(web1, start, end, "--instance", "web-1")), read_cards(scope(web1, start, end, "--instance", "web-2"))
        for merchant in set(one) & set(two):
            assert not set(one[merchant]) & set(two[merchant])
        # The early card is outside the window; a wider window on web-1 includes it.
        assert early not in json.dumps(scope(web1, start, end, "--instance", "web-1"))
        assert early in json.dumps(scope(web1, before, end, "--instance", "web-1"))
        # CSV: one row per read, no card number anywhere.
        csv = web1.cli("incident", "scope", "--from", str(start), "--to", str(end), "--instance", "web-1", "--csv").stdout
        assert csv.splitlines()[0].startswith("merchant,payment_method,time") and len(csv.splitlines()) == 1 + 2 * 3
        for number in CARDS.values():
            assert number not in csv and number not in json.dumps(scope(web1, before, end))
        assert_no_security_code(csv + json.dumps(scope(web1, before, end)))
    finally:
        assert web2.stop() == 0
        assert web1.stop() == 0


def test_single_process_scope_and_a_tampered_ledger(server):
    start = int(time.time())
    methods = {pay(server, server.publishable_key, server.secret_key, CARDS[c])[0] for c in ("a", "b")}
    end = int(time.time()) + 1
    time.sleep(2.5)
    assert server.cli("ledger", "checkpoint").returncode == 0
    answer = scope(server, start, end)
    assert answer["exact"] is True
    (merchant,) = answer["merchants"]
    assert {c["payment_method"] for c in merchant["read_in_clear"]} == methods
    assert set(merchant["security_codes_in_reach"]) == methods, "both codes were held by this process in the window"
    assert merchant["ciphertext_only"]["count"] == 0
    copy = scope(server, start, end, "--database-copy")
    assert copy["hypotheses"]["personal_data"].startswith("the database files were taken")
    # One ledger entry altered: the answer says so instead of being clean.
    server.stop()
    if server.database_url:
        import subprocess
        subprocess.run(["psql", server.database_url, "-qc", "UPDATE ledger_entries SET body = replace(body, 'authorization', 'authorisation') WHERE seq = (SELECT min(seq) FROM ledger_entries WHERE action = 'vault.decrypt')"], check=True)
    else:
        import sqlite3
        db = sqlite3.connect(os.path.join(server.data_dir, "kessai.sqlite"))
        db.execute("UPDATE ledger_entries SET body = replace(body, 'authorization', 'authorisation') WHERE seq = (SELECT min(seq) FROM ledger_entries WHERE action = 'vault.decrypt')")
        db.commit()
        db.close()
    result = server.cli("incident", "scope", "--from", str(start), "--to", str(end), "--json")
    assert result.returncode == 2
    tampered = json.loads(result.stdout)
    assert tampered["exact"] is False and tampered["ledger"]["verified"] is False and tampered["ledger"]["findings"]
    assert "NOT EXACT" in tampered["statement"]
    server.start_existing()


def test_card_brands_file_needs_two_operators_and_opens_only_with_the_key(server, tmp_path):
    from test_console import PASSWORD, create_operator, enroll, login

    start = int(time.time()) - 1
    methods = {pay(server, server.publishable_key, server.secret_key, CARDS[c])[0] for c in ("a", "c")}
    end = int(time.time()) + 1
    time.sleep(2.5)
    import subprocess

    def bare(*args):  # commands that open no database
        return subprocess.run([server.binary, *args], capture_output=True, text=True, timeout=60)

    keys = bare("incident", "recipient-key", "--out", str(tmp_path / "brand"))
    assert keys.returncode == 0
    public = (tmp_path / "brand.pub").read_text().strip()

    phone_a, codes_a = enroll(server, create_operator(server, "sec.a@example.com", "security"))
    phone_b, codes_b = enroll(server, create_operator(server, "sec.b@example.com", "security"))
    a = login(server, "/console", "sec.a@example.com", PASSWORD, codes_a[0])
    b = login(server, "/console", "sec.b@example.com", PASSWORD, codes_b[0])
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    page = a.get("/console/incidents")
    asked = a.submit(page, "export-cards", {"from": iso(start), "to": iso(end), "recipient": public, "password": PASSWORD, "code": phone_a.current()})
    assert asked.status == 200 and asked.by_id("notice") is not None, asked.text[:1500]
    # Nothing leaves before a second operator approves; the requester cannot approve.
    approvals = a.get("/console/approvals")
    (request_id, row), = approvals.rows("approvals").items()
    mine = a.submit(approvals, next(iter(row.all("form", "approve-form"))), {"password": PASSWORD, "code": phone_a.current()})
    assert mine.by_id("error") is not None and "ciphertext" not in mine.text
    theirs = b.get("/console/approvals")
    form = next(iter(theirs.rows("approvals")[request_id].all("form", "approve-form")))
    download = b.submit(theirs, form, {"password": PASSWORD, "code": phone_b.current()})
    assert download.status == 200 and "attachment" in (download.headers.get("Content-Disposition") or ""), download.text[:500]
    sealed = tmp_path / "cards.hpke.json"
    sealed.write_text(download.text)
    for number in CARDS.values():
        assert number not in download.text
    opened = bare("incident", "open-export", str(sealed), "--private-key", str(tmp_path / "brand.key"))
    assert opened.returncode == 0, opened.stderr
    rows = [line.split(",") for line in opened.stdout.strip().splitlines()[1:]]
    assert {r[1] for r in rows} == methods and {r[2] for r in rows} == {CARDS["a"], CARDS["c"]}
    other = bare("incident", "recipient-key", "--out", str(tmp_path / "other"))
    assert other.returncode == 0
    wrong = bare("incident", "open-export", str(sealed), "--private-key", str(tmp_path / "other.key"))
    assert wrong.returncode != 0 and "does not open" in wrong.stderr
    exported = json.loads(server.cli("ledger", "query", "--from", "0", "--to", "9999999999", "--action", "cards.exported", "--json").stdout)
    assert len(exported) == 1

    # The drafts: letters in both languages, the Commission report with due dates, the lists.
    out = tmp_path / "drafts"
    report = server.cli("incident", "report", "--from", str(start), "--to", str(end), "--unauthorized-access", "--out", str(out))
    assert report.returncode == 0, report.stderr
    merchant_dir = next(p for p in out.iterdir() if p.is_dir())
    assert "クレジットカード" in (merchant_dir / "letter-ja.md").read_text() and "card issuer" in (merchant_dir / "letter-en.md").read_text()
    listed = json.loads((merchant_dir / "affected-payments.json").read_text())
    assert {p["last4"] for p in listed} == {CARDS["a"][-4:], CARDS["c"][-4:]}
    preliminary, final = (out / "commission-preliminary.md").read_text(), (out / "commission-final.md").read_text()
    for item in ("(1) 概要", "(2) 漏えい等が発生し", "(3) 漏えい等が発生し", "(4) 原因", "(5) 二次被害", "(6) 本人への対応", "(7) 公表", "(8) 再発防止", "(9) その他"):
        assert item in preliminary and item in final
    assert "速報" in preliminary and "確報: 知った日から60日以内" in final
    everything = "".join(p.read_text() for p in out.rglob("*") if p.is_file())
    for number in CARDS.values():
        assert number not in everything
    assert_no_security_code(everything)
    # Nor in the data directory, the logs or (on PostgreSQL) a pg_dump, after the export.
    scan_for_card_data(server, [(number, cvc(number)) for number in CARDS.values()])


def test_an_exposed_card_is_flagged_at_any_shop_and_refused_where_the_shop_says_so(server):
    start = int(time.time())
    exposed, _ = pay(server, server.publishable_key, server.secret_key, CARDS["a"])
    end = int(time.time()) + 1
    time.sleep(2.5)
    assert server.cli("ledger", "checkpoint").returncode == 0
    listed = server.cli("incident", "watch", "--from", str(start), "--to", str(end))
    assert listed.returncode == 0 and "1 cards added" in listed.stdout, listed.stdout + listed.stderr
    assert "0 cards added, 1 already listed" in server.cli("incident", "watch", "--from", str(start), "--to", str(end)).stdout
    second = json.loads(server.cli("merchants", "create", "Watching Shop", "--json").stdout)
    pk, sk = second["publishable_key"], second["secret_key"]
    endpoint = client(server, sk).v1.webhook_endpoints.create(
        params={"url": "https://example.com/hook", "enabled_events": ["payment_intent.card_watch_matched"]})
    assert endpoint.enabled_events == ["payment_intent.card_watch_matched"]

    # The same number at another shop: paid, and flagged on the intent, the charge and an event.
    _, flagged_id = pay(server, pk, sk, CARDS["a"])
    flagged = client(server, sk).v1.payment_intents.retrieve(flagged_id)
    assert flagged.status == "succeeded" and flagged["card_watch"]["action"] == "flagged" and flagged["card_watch"]["incident"] is None
    outcome = client(server, sk).v1.charges.retrieve(flagged.latest_charge).outcome
    assert (outcome.type, outcome.risk_level, outcome.reason, outcome.rule) == ("authorized", "elevated", "rule", "rule_exposed_card_watch")
    events = client(server, sk).v1.events.list(params={"type": "payment_intent.card_watch_matched"})
    assert [e.data.object.id for e in events.data] == [flagged_id]
    # The buyer's side (publishable key) learns nothing of it.
    buyer = client(server, pk).v1.payment_intents.retrieve(flagged_id, params={"client_secret": flagged.client_secret})
    assert "card_watch" not in buyer
    # A reissued card (a new number) goes through unmarked.
    _, fresh_id = pay(server, pk, sk, CARDS["d"])
    fresh = client(server, sk).v1.payment_intents.retrieve(fresh_id)
    assert fresh["card_watch"] is None and client(server, sk).v1.charges.retrieve(fresh.latest_charge).outcome.risk_level == "not_assessed"

    # The shop refuses watched cards: a card error, never sent to the bank.
    assert server.cli("merchants", "watch-policy", second["id"], "--refuse").returncode == 0
    method = client(server, pk).v1.payment_methods.create(
        params={"type": "card", "card": {"number": CARDS["a"], "exp_month": 12, "exp_year": 2033, "cvc": cvc(CARDS["a"])}})
    with pytest.raises(stripe.CardError) as refused:
        client(server, sk).v1.payment_intents.create(params={"amount": 1500, "currency": "jpy", "payment_method": method.id, "confirm": True})
    assert refused.value.code == "card_declined" and refused.value.error.decline_code == "merchant_blacklist"
    blocked = client(server, sk).v1.payment_intents.retrieve(refused.value.error.payment_intent.id)
    assert blocked.status == "requires_payment_method" and blocked["card_watch"]["action"] == "refused"
    outcome = client(server, sk).v1.charges.retrieve(blocked.latest_charge).outcome
    assert (outcome.type, outcome.network_status, outcome.risk_level) == ("blocked", "not_sent_to_network", "highest")
    reads = json.loads(server.cli("ledger", "query", "--from", "0", "--to", "9999999999", "--action", "vault.decrypt", "--json").stdout)
    assert method.id not in json.dumps(reads), "a blocked card is never decrypted"
    assert pay(server, pk, sk, CARDS["e"])[1].startswith("pi_")
    assert server.cli("merchants", "watch-policy", second["id"], "--refuse", "--flag").returncode != 0


def test_breach_response_pages_in_chromium(browser, server):
    """A security operator works an incident in the console: the scope, the letters in both
    languages and the Commission drafts (screenshots in .build/artifacts), then the watch list;
    an admin makes the shop refuse watched cards from the merchant page."""
    from conftest import screenshot
    from test_console import (PASSWORD, assert_no_card_data, clear_browser, create_operator, demo_merchant, enroll, enroll_in_browser,
                              login, login_in_browser, step_up_in_browser, wait_id)
    from selenium.webdriver.common.by import By

    start = int(time.time())
    for card in ("a", "c"):
        pay(server, server.publishable_key, server.secret_key, CARDS[card])
    end = int(time.time()) + 1
    time.sleep(2.5)
    assert server.cli("ledger", "checkpoint").returncode == 0
    merchant = demo_merchant(server)

    clear_browser(browser)
    phone, _ = enroll_in_browser(browser, server, create_operator(server, "kenji.sec@example.com", "security"))
    login_in_browser(browser, server, "/console", "kenji.sec@example.com", PASSWORD, phone)
    scope_url = f"{server.base}/console/response?from={start}&to={end}"
    browser.get(scope_url)
    row = wait_id(browser, "scope-merchants").find_element(By.CSS_SELECTOR, f'tr[data-id="{merchant}"]')
    assert [td.text for td in row.find_elements(By.TAG_NAME, "td")][1:3] == ["2", "4"], row.text  # 2 cards: tokenized and read once each
    assert browser.find_elements(By.ID, "statement"), "an exact answer says so"
    assert_no_card_data(browser.page_source, "scope page")
    screenshot(browser, f"response-scope-{server.backend}")
    for language, words in (("ja", "クレジットカード番号"), ("en", "card issuer")):
        browser.find_element(By.ID, f"letter-{language}-{merchant}").click()
        letter = wait_id(browser, "letter")
        assert letter.get_attribute("lang") == language and words in browser.page_source
        main = browser.find_element(By.TAG_NAME, "main").text
        assert ("うち 2 件のカード情報" if language == "ja" else "The card details of 2 payment(s)") in main, main
        assert_no_card_data(browser.page_source, f"letter ({language})")
        screenshot(browser, f"response-letter-{language}-{server.backend}")
        browser.get(scope_url)
        wait_id(browser, "scope-merchants")
    for kind in ("preliminary", "final"):
        browser.find_element(By.ID, f"commission-{kind}").click()
        wait_id(browser, "commission")
        text = browser.find_element(By.TAG_NAME, "main").text
        assert "(1) 概要" in text and "(9) その他" in text and ("確報" if kind == "final" else "速報") in text
        screenshot(browser, f"response-commission-{kind}-{server.backend}")
        browser.get(scope_url)
        wait_id(browser, "scope-merchants")
    step_up_in_browser(browser, scope_url, "watch", {}, "#watch-submit", "notice", phone)
    assert browser.find_element(By.ID, "notice").text.endswith(": 2 (+0)"), browser.find_element(By.ID, "notice").text
    watched = json.loads(server.cli("ledger", "query", "--from", "0", "--to", "9999999999", "--action", "cards.watched", "--json").stdout)
    assert len(watched) == 1 and watched[0]["actor_kind"] == "operator" and watched[0]["actor_id"] != "local"
    _, flagged = pay(server, server.publishable_key, server.secret_key, CARDS["c"])
    assert client(server, server.secret_key).v1.payment_intents.retrieve(flagged)["card_watch"]["action"] == "flagged"

    # An admin makes the shop refuse watched cards from its page in the console.
    admin_phone, _ = enroll(server, create_operator(server, "mei.admin@example.com", "admin"))
    admin = login(server, "/console", "mei.admin@example.com", PASSWORD, admin_phone)
    page = admin.get(f"/console/merchants/{merchant}")
    done = admin.submit(page, "watch-policy")
    assert done.status == 200 and done.by_id("notice") is not None, done.text[:1000]
    with pytest.raises(stripe.CardError) as refused:
        pay(server, server.publishable_key, server.secret_key, CARDS["a"])
    assert refused.value.error.decline_code == "merchant_blacklist"
    # A viewer sees none of it.
    viewer_phone, _ = enroll(server, create_operator(server, "go.viewer@example.com", "viewer"))
    viewer = login(server, "/console", "go.viewer@example.com", PASSWORD, viewer_phone)
    assert viewer.get(f"/console/response?from={start}&to={end}").status == 403
    assert admin.get("/console/response?from=1&to=x").status == 400
    assert admin.get("/console/response?from=1&to=2&actor=%00").status == 400
    assert admin.get("/console/response?from=1&to=2&note=4242424242424242").status == 400
