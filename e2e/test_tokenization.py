"""The official Stripe Python library against a real `kessai serve`, and what an attacker who
takes the data directory, the database dump or the logs would find."""
import glob
import json
import os
import subprocess
import threading

import pytest
import stripe

CARDS = [
    ("4242424242424242", "visa", "739"),
    ("5555555555554444", "mastercard", "846"),
    ("3566002020360505", "jcb", "907"),
    ("378282246310005", "amex", "8214"),
    ("36227206271667", "diners", "473"),
    ("6011111111111117", "discover", "365"),
]


def client(server, key):
    return stripe.StripeClient(key, base_addresses={"api": server.base}, max_network_retries=0)


def tokenize(server, number, cvc, **extra):
    return stripe.PaymentMethod.create(
        type="card",
        card={"number": number, "exp_month": 12, "exp_year": 2031, "cvc": cvc},
        api_key=server.publishable_key,
        **extra,
    )


def test_tokenize_and_retrieve_with_the_stripe_library(server):
    pm = tokenize(server, "4242424242424242", "739",
                  billing_details={"name": "山田 太郎", "email": "taro@example.jp"},
                  metadata={"order_id": "A-1001"})
    assert pm.id.startswith("pm_")
    assert pm.object == "payment_method"
    assert pm.card.brand == "visa" and pm.card.last4 == "4242"
    assert pm.card.exp_month == 12 and pm.card.exp_year == 2031
    assert pm.card.checks.cvc_check == "unchecked"
    assert len(pm.card.fingerprint) == 16
    assert pm.billing_details.name == "山田 太郎"
    assert pm.metadata["order_id"] == "A-1001"
    assert pm.livemode is False

    again = stripe.PaymentMethod.retrieve(pm.id, api_key=server.secret_key)
    assert again.id == pm.id and again.card.fingerprint == pm.card.fingerprint

    # The same card on another token has the same fingerprint; another card does not.
    same = tokenize(server, "4242 4242 4242 4242", "739")
    other = tokenize(server, "5555555555554444", "846")
    assert same.card.fingerprint == pm.card.fingerprint
    assert other.card.fingerprint != pm.card.fingerprint

    # The StripeClient style works too.
    via_client = client(server, server.secret_key).v1.payment_methods.retrieve(pm.id)
    assert via_client.id == pm.id


def test_errors_raise_the_stripe_exceptions(server):
    with pytest.raises(stripe.CardError) as error:
        tokenize(server, "4242424242424241", "739")
    assert error.value.code == "incorrect_number"
    assert error.value.http_status == 402
    assert error.value.param == "card[number]"
    assert error.value.headers.get("Request-Id", "").startswith("req_")

    with pytest.raises(stripe.CardError) as error:
        stripe.PaymentMethod.create(type="card", card={"number": "4242424242424242", "exp_month": 13, "exp_year": 2031}, api_key=server.publishable_key)
    assert error.value.code == "invalid_expiry_month"

    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe.PaymentMethod.create(type="card", card={"exp_month": 12, "exp_year": 2031}, api_key=server.publishable_key)
    assert error.value.code == "parameter_missing"

    with pytest.raises(stripe.AuthenticationError):
        tokenize_with = dict(type="card", card={"number": "4242424242424242", "exp_month": 12, "exp_year": 2031})
        stripe.PaymentMethod.create(api_key="pk_test_" + "x" * 32, **tokenize_with)

    with pytest.raises(stripe.PermissionError):
        stripe.PaymentMethod.create(type="card", card={"number": "4242424242424242", "exp_month": 12, "exp_year": 2031}, api_key=server.secret_key)


def test_cli_merchants_and_cross_merchant_isolation(server):
    made = server.cli("merchants", "create", "Other Shop", "--json")
    assert made.returncode == 0, made.stderr
    other = json.loads(made.stdout.strip().splitlines()[-1])
    assert set(other) == {"id", "code", "secret_key", "publishable_key"}
    assert other["secret_key"].startswith("sk_test_") and other["publishable_key"].startswith("pk_test_")

    pm = tokenize(server, "3566002020360505", "907")
    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe.PaymentMethod.retrieve(pm.id, api_key=other["secret_key"])
    assert error.value.http_status == 404

    listed = server.cli("merchants", "list")
    assert listed.returncode == 0 and "Other Shop" in listed.stdout
    assert other["secret_key"] not in listed.stdout  # shown masked only

    rolled = server.cli("keys", "roll", other["code"])
    assert rolled.returncode == 0, rolled.stderr
    with pytest.raises(stripe.AuthenticationError) as error:
        stripe.PaymentMethod.retrieve(pm.id, api_key=other["secret_key"])
    assert error.value.json_body["error"]["code"] == "api_key_expired"


def test_key_rotation_while_serving(server):
    before = [tokenize(server, n, c).id for n, _, c in CARDS]
    stop = threading.Event()
    during, failures = [], []

    def keep_tokenizing():
        while not stop.is_set():
            try:
                during.append(tokenize(server, "4242424242424242", "739").id)
            except Exception as exc:  # noqa: BLE001 - any failure is the finding
                failures.append(repr(exc))

    worker = threading.Thread(target=keep_tokenizing)
    worker.start()
    try:
        rotated = server.cli("vault", "rotate-key", "--batch", "2")
    finally:
        stop.set()
        worker.join()
    assert rotated.returncode == 0, rotated.stderr
    assert "re-wrapped" in rotated.stdout and "retired 1" in rotated.stdout
    assert failures == []
    assert len(during) > 0
    keys = json.load(open(os.path.join(server.data_dir, "kessai.keys")))
    assert sorted(keys["key_encryption_keys"]) == ["2"]
    for pm in before + during[-3:]:
        assert stripe.PaymentMethod.retrieve(pm, api_key=server.secret_key).id == pm


def test_nothing_leaks_to_files_dump_or_logs(server):
    for number, brand, cvc in CARDS:
        pm = tokenize(server, number, cvc, billing_details={"name": "Leak Scan"})
        assert pm.card.brand == brand
        with pytest.raises(stripe.CardError):
            tokenize(server, number[:-1] + str((int(number[-1]) + 1) % 10), cvc)

    # While serving, the newest pages are in SQLite's WAL; after a clean stop they are in the file.
    haystacks = {}
    for path in glob.glob(os.path.join(server.data_dir, "*")):
        haystacks[os.path.basename(path) + " (serving)"] = open(path, "rb").read()
    assert any(name.endswith("-wal (serving)") for name in haystacks) or server.backend == "postgres"

    assert server.stop() == 0, "SIGTERM must drain and exit cleanly"

    for path in glob.glob(os.path.join(server.data_dir, "*")):
        haystacks[os.path.basename(path)] = open(path, "rb").read()
    haystacks["server log"] = open(server.log_path, "rb").read()
    haystacks["server stdout"] = open(server.out_path, "rb").read()
    if server.database_url:
        dump = subprocess.run(["pg_dump", server.database_url], capture_output=True, check=True)
        haystacks["pg_dump"] = dump.stdout
        assert b"vault_cards" in dump.stdout and b"Leak Scan" in dump.stdout
    assert b"request_id" in haystacks["server log"]

    import re
    for number, _, cvc in CARDS:
        for name, data in haystacks.items():
            assert number.encode() not in data, f"card number in {name}"
            standalone = re.compile(rb"(?<![0-9A-Za-z.])" + cvc.encode() + rb"(?![0-9A-Za-z.])")
            assert not standalone.search(data), f"security code {cvc} in {name}"
