"""Several gateway processes on one PostgreSQL, as production runs them."""
import json
import os
import tempfile
import threading
import time

import pytest
import stripe

from conftest import Server, make_database


@pytest.mark.skipif(not os.environ.get("KESSAI_E2E_PG_URL"), reason="needs PostgreSQL")
def test_two_gateways_share_one_database_and_one_ledger():
    url = make_database(os.environ["KESSAI_E2E_PG_URL"])
    shared = tempfile.mkdtemp(prefix="kessai-multi-")
    first = Server("postgres", os.path.join(shared, "a"), url)
    first.data_dir = os.path.join(shared, "data")  # one key file for both
    os.makedirs(os.path.join(shared, "a"), exist_ok=True)
    os.makedirs(os.path.join(shared, "b"), exist_ok=True)
    first.start()
    second = Server("postgres", os.path.join(shared, "b"), url)
    second.data_dir = first.data_dir
    try:
        second.start_existing()
        made, errors = [], []

        def client(server, key):
            return stripe.StripeClient(key, base_addresses={"api": server.base}, max_network_retries=0)

        def tokenize(server, count):
            browser = client(server, first.publishable_key)
            for _ in range(count):
                try:
                    pm = browser.v1.payment_methods.create(
                        params={"type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2031}})
                    made.append(pm.id)
                except Exception as exc:  # noqa: BLE001
                    errors.append(repr(exc))

        threads = [threading.Thread(target=tokenize, args=(s, 40)) for s in (first, second, first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [] and len(made) == 160
        # Either process reads what the other wrote.
        merchant = client(second, first.secret_key)
        for pm in made[:10] + made[-10:]:
            assert merchant.v1.payment_methods.retrieve(pm).id == pm
        # Both sequencers ran on one ledger: it verifies and holds every tokenization once.
        time.sleep(2.5)
        verified = first.cli("ledger", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        rows = json.loads(first.cli("ledger", "query", "--from", "0", "--to", str(int(time.time()) + 60),
                                    "--action", "vault.tokenize", "--json").stdout.strip().splitlines()[-1])
        assert sorted(row["token"] for row in rows) == sorted(made)
    finally:
        assert second.stop() == 0
        assert first.stop() == 0
