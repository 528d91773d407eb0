"""The ledger from the outside: the command line and the operator endpoint against a real server."""
import json
import os
import re
import sqlite3
import subprocess
import time
import urllib.request

import pytest
import stripe


def tokenize(server, number="4242424242424242"):
    return stripe.PaymentMethod.create(
        type="card", card={"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "739"},
        api_key=server.publishable_key)


def tamper(server, sql):
    if server.database_url:
        subprocess.run(["psql", server.database_url, "-qc", sql], check=True)
    else:
        with sqlite3.connect(os.path.join(server.data_dir, "kessai.sqlite"), timeout=30) as db:
            db.execute(sql)


def test_verify_query_checkpoint_and_tampering(server, tmp_path):
    made = [tokenize(server).id for _ in range(5)]
    with pytest.raises(stripe.AuthenticationError):
        stripe.PaymentMethod.retrieve(made[0], api_key="sk_test_" + "Q" * 32)

    copy = tmp_path / "checkpoints.jsonl"
    signed = server.cli("ledger", "checkpoint", "--copy-to", str(copy))
    assert signed.returncode == 0, signed.stderr
    checkpoint = json.loads(signed.stdout.strip().splitlines()[-1])
    assert checkpoint["size"] >= 9 and json.loads(copy.read_text().splitlines()[0]) == checkpoint

    verified = server.cli("ledger", "verify", "--checkpoint", str(copy))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert re.search(rf"size {checkpoint['size']} root [0-9a-f]{{64}}", verified.stdout)
    assert verified.stdout.strip().splitlines()[-1].startswith("ledger verified:")

    now = int(time.time()) + 60
    query = server.cli("ledger", "query", "--from", "0", "--to", str(now), "--action", "vault.tokenize", "--json")
    assert query.returncode == 0, query.stderr
    rows = json.loads(query.stdout.strip().splitlines()[-1])
    assert {row["token"] for row in rows} >= set(made)
    assert all(row["actor_kind"] == "merchant_key" and row["request_id"].startswith("req_") for row in rows)
    failures = json.loads(server.cli("ledger", "query", "--from", "0", "--to", str(now), "--action", "auth.failure", "--json").stdout.strip().splitlines()[-1])
    assert any(row["outcome"] == "invalid" and "****" in row["actor_id"] for row in failures)
    csv = server.cli("ledger", "query", "--from", "0", "--to", str(now), "--csv")
    assert csv.stdout.startswith("seq,time,actor_kind")

    proof = json.loads(server.cli("ledger", "prove", "--seq", "3").stdout.strip().splitlines()[-1])
    assert proof["verified"] is True

    # An insider edits one entry: the verifier names the position and fails. (`--no-record` here:
    # a recorded run writes entries of its own, which would move the truncation point below;
    # test_sentinel covers the recorded run.)
    tamper(server, "UPDATE ledger_entries SET body = replace(body, '\"outcome\":\"success\"', '\"outcome\":\"failure\"') WHERE seq = 4")
    broken = server.cli("ledger", "verify", "--no-record", "--checkpoint", str(copy))
    assert broken.returncode == 1
    assert "TAMPERED: altered_entry at position 4" in broken.stdout
    # The last line is the verdict, never "verified" under a list of findings.
    assert broken.stdout.strip().splitlines()[-1].startswith("LEDGER FAILED VERIFICATION")
    assert "verified" not in broken.stdout.strip().splitlines()[-1]

    # Truncation below the off-host checkpoint, with the stored checkpoints deleted too.
    tamper(server, "DELETE FROM ledger_checkpoints")
    tamper(server, f"DELETE FROM ledger_entries WHERE seq >= 6")
    truncated = server.cli("ledger", "verify", "--no-record", "--checkpoint", str(copy))
    assert truncated.returncode == 1
    assert "TAMPERED: truncated at position 6" in truncated.stdout


def test_operator_endpoint_serves_the_signed_checkpoint(server):
    tokenize(server)
    created = server.cli("operators", "create-token", "checkpoint-monitor")
    assert created.returncode == 0, created.stderr
    token = re.search(r"(op_[A-Za-z0-9]{40})", created.stdout).group(1)
    assert server.cli("ledger", "checkpoint").returncode == 0

    request = urllib.request.Request(server.base + "/v1/ledger/checkpoint", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request) as reply:
        body = json.load(reply)
    assert body["object"] == "ledger_checkpoint" and body["algorithm"] == "Ed25519" and body["size"] > 0

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    import base64
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(body["public_key"]))
    key.verify(base64.b64decode(body["signature"]), body["signed_note"].encode())  # raises if forged

    refused = urllib.request.Request(server.base + "/v1/ledger/checkpoint", headers={"Authorization": f"Bearer {server.secret_key}"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(refused)
    assert error.value.code == 401
