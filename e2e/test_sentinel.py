"""The sentinel against real attacks and real tampering, on live servers (both databases):
sqlmap finds nothing injectable and its run becomes one incident naming the address; a burst of
wrong API keys is one incident; a file planted next to the binary and a changed byte in
kessai.js are an incident each within 60 s; people close incidents with notes, two for high."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import BINARY, ROOT, Server, backends, make_database

SQLMAP = os.path.join(os.path.dirname(sys.executable), "sqlmap")


def incidents(server, *extra):
    result = server.cli("incidents", "list", "--json", *extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def wait_for(server, predicate, timeout=60):
    """Polls the incident list until `predicate` holds for it; returns (list, seconds)."""
    started = time.monotonic()
    while True:
        found = incidents(server)
        if predicate(found):
            return found, time.monotonic() - started
        assert time.monotonic() - started < timeout, f"no such incident within {timeout} s: {found}"
        time.sleep(1)


def sqlmap(server, *args):
    out = tempfile.mkdtemp(prefix="kessai-sqlmap-")
    run = subprocess.run(
        [SQLMAP, *args, "--headers", f"Authorization: Bearer {server.secret_key}", "--batch", "--level", "1", "--risk", "1", "--threads", "2",
         "--time-sec", "1", "--output-dir", out, "--disable-coloring", "--flush-session"],
        capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    shutil.rmtree(out, ignore_errors=True)
    return run.stdout + run.stderr


def test_sqlmap_finds_nothing_and_is_one_incident(server):
    started = time.monotonic()
    found = sqlmap(server, "-u", f"{server.base}/v1/payment_intents?limit=3&created[gte]=1")
    found += sqlmap(server, "-u", f"{server.base}/v1/payment_intents", "--data", "amount=1000&currency=jpy&description=book")
    assert found.count("all tested parameters do not appear to be injectable") == 2, found[-3000:]
    assert "is vulnerable" not in found and "appears to be '" not in found and "sqlmap identified the following injection point" not in found
    listed, _ = wait_for(server, lambda items: any(i["kind"] == "injection_probing" for i in items))
    probing = [i for i in listed if i["kind"] == "injection_probing"]
    assert len(probing) == 1, probing
    incident = probing[0]
    assert incident["severity"] == "high" and incident["status"] == "open" and incident["source"] == "127.0.0.1"
    assert "127.0.0.1" in incident["summary"] and incident["events"] >= 5
    assert time.monotonic() - started < 60 + 120, "sqlmap and the incident took too long"
    # It was seen: every step from here is in the ledger and needs notes and, for high, two people.
    refused = server.cli("incidents", "resolve", incident["id"], "--note", "done", "--operator", "aiko")
    assert refused.returncode != 0 and "cannot become resolved" in refused.stderr
    assert server.cli("incidents", "acknowledge", incident["id"], "--note", "sqlmap from our own scan host", "--operator", "aiko").returncode == 0
    first = server.cli("incidents", "resolve", incident["id"], "--note", "scan was authorised", "--operator", "aiko")
    assert first.returncode == 0 and "second operator" in first.stdout
    assert server.cli("incidents", "show", incident["id"]).stdout.count('"status":"acknowledged"') == 1
    second = server.cli("incidents", "resolve", incident["id"], "--note", "confirmed with the scan schedule", "--operator", "kenji")
    assert second.returncode == 0 and "resolved" in second.stdout
    steps = server.cli("ledger", "query", "--from", "0", "--to", "9999999999", "--json")
    actions = [e["action"] for e in json.loads(steps.stdout) if e["action"].startswith("incident.")]
    assert actions[:1] == ["incident.opened"] and actions[-1] == "incident.resolved" and "incident.acknowledged" in actions


def test_wrong_api_keys_are_one_incident(server):
    for n in range(40):
        request = urllib.request.Request(server.base + "/v1/payment_intents", headers={"Authorization": f"Bearer sk_test_{'x' * 31}{n % 10}"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 401
    listed, seconds = wait_for(server, lambda items: any(i["kind"] == "api_key_attack" for i in items))
    attacks = [i for i in listed if i["kind"] == "api_key_attack"]
    assert len(attacks) == 1 and attacks[0]["source"] == "127.0.0.1" and seconds < 60


@pytest.fixture(params=backends())
def installed(request):
    """A server run from its own copy of the binary and of web/, as installed on a host."""
    workdir = tempfile.mkdtemp(prefix="kessai-fim-")
    bin_dir = os.path.join(workdir, "bin")
    os.makedirs(bin_dir)
    binary = os.path.join(bin_dir, "kessai")
    shutil.copy2(BINARY, binary)
    web = os.path.join(workdir, "web")
    shutil.copytree(os.path.join(ROOT, "web"), web)
    url = make_database(os.environ["KESSAI_E2E_PG_URL"]) if request.param == "postgres" else None
    srv = Server(request.param, workdir, url, binary=binary,
                 extra_args=("--watch-binary", "--web-root", web))  # the default schedule (15 s); inotify is what makes it fast
    baseline = subprocess.run([binary, "sentinel", "baseline", "--watch-binary", "--web-root", web, *srv.args()], capture_output=True, text=True, timeout=120)
    assert baseline.returncode == 0 and "files recorded" in baseline.stdout, baseline.stderr
    srv.start()
    srv.bin_dir, srv.web = bin_dir, web
    yield srv
    srv.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def test_planted_file_and_changed_script_are_incidents_within_60_seconds(installed):
    server = installed
    assert incidents(server) == [], "a fresh install matches its baseline"
    planted = os.path.join(server.bin_dir, "kessai-helper.php")
    with open(planted, "w") as f:
        f.write("<?php system($_GET['c']); ?>\n")
    script = os.path.join(server.web, "js", "v1", "kessai.js")
    with open(script, "r+b") as f:
        first = f.read(1)
        f.seek(0)
        f.write(bytes([first[0] ^ 0x20]))
    started = time.monotonic()
    listed, seconds = wait_for(server, lambda items: sum(i["kind"] == "file_integrity" for i in items) >= 2)
    files = [i for i in listed if i["kind"] == "file_integrity"]
    assert len(files) == 2, files
    assert any("added" in i["summary"] and i["summary"].endswith("kessai-helper.php") for i in files), files
    assert any("changed" in i["summary"] and i["summary"].endswith("js/v1/kessai.js") for i in files), files
    assert all(i["severity"] == "high" for i in files) and time.monotonic() - started < 60
    print(f"file integrity on {server.backend}: both incidents listed {seconds:.1f} s after the change")
    # The same file changed again, and seen again by later checks, is the same incident.
    with open(planted, "a") as f:
        f.write("<?php // again ?>\n")
    time.sleep(5)
    again = [i for i in incidents(server) if i["kind"] == "file_integrity"]
    assert len(again) == 2 and sum(i["events"] for i in again) > sum(i["events"] for i in files), (files, again)
    check = server.cli("sentinel", "check", "--watch-binary", "--web-root", server.web)
    assert check.returncode == 1 and "kessai-helper.php" in check.stdout


def test_sbom_validates_and_an_advisory_in_use_is_an_incident(server, tmp_path):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    sbom = subprocess.run([BINARY, "sbom"], capture_output=True, text=True, timeout=60)
    assert sbom.returncode == 0
    assert JsonStrictValidator(SchemaVersion.V1_5).validate_str(sbom.stdout) is None, "not valid CycloneDX 1.5"
    document = json.loads(sbom.stdout)
    libraries = {c["name"]: c for c in document["components"] if c["type"] == "library"}
    assert {"hummingbird", "swift-crypto", "swift-nio", "postgres-nio"} <= set(libraries), sorted(libraries)
    assert all(c["purl"].startswith("pkg:swift/github.com/") for c in libraries.values())
    files = [c for c in document["components"] if c["type"] == "file"]
    assert {f["name"] for f in files} == {"/js/v1/kessai.js", "/js/v1/card-field.js"}

    nio = libraries["swift-nio"]["version"]
    affecting = tmp_path / "osv-affecting.json"
    affecting.write_text(json.dumps({"vulns": [{
        "id": "GHSA-test-0001", "summary": "A test advisory naming the swift-nio in use",
        "affected": [{"package": {"ecosystem": "SwiftURL", "name": "https://github.com/apple/swift-nio.git"},
                      "ranges": [{"type": "SEMVER", "events": [{"introduced": "2.0.0"}, {"fixed": "99.0.0"}]}]}]}]}))
    unrelated = tmp_path / "osv-unrelated.json"
    unrelated.write_text(json.dumps([{
        "id": "GHSA-test-0002", "affected": [{"package": {"ecosystem": "SwiftURL", "name": "github.com/apple/swift-nio"}, "versions": ["1.0.0"]}]}]))
    clean = server.cli("advisories", "check", str(unrelated))
    assert clean.returncode == 0 and "no advisory matches" in clean.stdout
    hit = server.cli("advisories", "check", str(affecting))
    assert hit.returncode == 1 and "GHSA-test-0001" in hit.stdout and nio in hit.stdout
    listed = incidents(server)
    assert [i["kind"] for i in listed] == ["vulnerable_component"] and "swift-nio" in listed[0]["summary"]

    report = tmp_path / "asv-report.pdf"
    report.write_bytes(b"%PDF-1.4 scan report: pass\n")
    recorded = server.cli("scans", "record", str(report), "--scanner", "ASV Example", "--summary", "pass, 0 high")
    assert recorded.returncode == 0
    import hashlib
    digest = hashlib.sha256(report.read_bytes()).hexdigest()
    assert digest in recorded.stdout


def test_ops_webhook_is_signed_like_stripe_and_nothing_carries_card_data(tmp_path):
    import http.server
    import threading

    import stripe

    from conftest import free_port, scan_for_card_data

    received = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body.decode(), self.headers.get("Kessai-Signature")))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    hook = http.server.HTTPServer(("127.0.0.1", free_port()), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    secret = "whsec_ops_" + "k" * 24
    os.environ["KESSAI_OPS_WEBHOOK_SECRET"] = secret
    try:
        server = Server("sqlite", str(tmp_path), extra_args=("--ops-webhook-url", f"http://127.0.0.1:{hook.server_port}/hook"))
        server.start()
    finally:
        del os.environ["KESSAI_OPS_WEBHOOK_SECRET"]
    try:
        stripe.api_base = server.base
        method = stripe.PaymentMethod.create(
            type="card", card={"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "847"}, api_key=server.publishable_key)
        intent = stripe.PaymentIntent.create(amount=1200, currency="jpy", payment_method=method.id, confirm=True, api_key=server.secret_key)
        assert intent.status == "succeeded"
        # Probes that carry a card number themselves: it must not travel into any alert.
        for n in range(6):
            query = urllib.parse.quote(f"4242424242424242' OR '1'='{n}")
            request = urllib.request.Request(f"{server.base}/v1/payment_intents?limit={query}", headers={"Authorization": f"Bearer {server.secret_key}"})
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=10)
            assert refused.value.code == 400
        deadline = time.monotonic() + 60
        while not received:
            assert time.monotonic() < deadline, "no ops webhook within 60 s"
            time.sleep(0.5)
        payload, signature = received[0]
        event = stripe.Webhook.construct_event(payload, signature, secret)
        assert event["type"] == "incident.opened" and event["kind"] == "injection_probing" and event["source"] == "127.0.0.1"
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(payload, signature, "whsec_wrong_" + "x" * 20)
        for body, _ in received:
            assert "4242424242424242" not in body and "847" not in body
        outbox = server.query("SELECT subject, body FROM alert_outbox")
        assert outbox and all("4242424242424242" not in s + b for s, b in outbox)
        scan_for_card_data(server, [("4242424242424242", "847")])
    finally:
        stripe.api_base = "http://127.0.0.1:9"
        hook.shutdown()
        if server.process.poll() is None:
            server.stop()


def fact(page, facts_id, label):
    """The value (dd) of the fact labelled `label` (dt) in the dl with `facts_id`."""
    node = page.by_id(facts_id)
    assert node is not None, page.text[:2000]
    items = [child for child in node.children if not isinstance(child, str)]
    for term, value in zip(items[::2], items[1::2]):
        if term.text() == label:
            return value.text()
    raise AssertionError(f"no {label!r} in #{facts_id}: {node.text()}")


@pytest.mark.server_args("--ledger-verify-interval", "5")
def test_ledger_verified_on_schedule_tampering_is_one_incident_and_the_console_says_so(server):
    """The sentinel verifies the whole ledger on its schedule; the console's home says when and
    with what result; an edited entry becomes one high incident at the next run, which the
    console's "verify now" and `kessai ledger verify` add to; `--no-record` writes nothing."""
    import stripe
    from test_console import CARDS, PASSWORD, assert_no_card_data, create_operator, enroll, login
    from test_ledger import tamper

    number, cvc = CARDS[0]
    stripe.PaymentMethod.create(type="card", card={"number": number, "exp_month": 12, "exp_year": 2031, "cvc": cvc}, api_key=server.publishable_key)
    _, codes = enroll(server, create_operator(server, "mei@example.com", "security"))
    console = login(server, "/console", "mei@example.com", PASSWORD, codes[0])
    english = {"Accept-Language": "en"}

    def home_line():
        page = console.get("/console", headers=english)
        assert page.status == 200, page.text[:2000]
        assert_no_card_data(page.text, "/console")
        return fact(page, "health", "Ledger last verified")

    def wait_home(pattern, timeout=30):
        started = time.monotonic()
        while not re.match(pattern, line := home_line()):
            assert time.monotonic() - started < timeout, f"home still says {line!r}"
            time.sleep(1)
        return line, time.monotonic() - started

    # The first scheduled run is at start; each says verified, when, at what size, which process.
    line, _ = wait_home(r"verified · \d{4}-\d\d-\d\d \d\d:\d\d:\d\d JST · #\d+ · \S+")
    assert incidents(server) == []

    # An insider edits one entry: the next scheduled run fails and opens one high incident.
    edited = int(server.query("SELECT min(seq) FROM ledger_entries WHERE action = 'vault.tokenize'")[0][0])
    tamper(server, f"UPDATE ledger_entries SET body = replace(body, '\"outcome\":\"success\"', '\"outcome\":\"failure\"') WHERE seq = {edited}")
    listed, seconds = wait_for(server, lambda items: any(i["kind"] == "ledger_tampered" for i in items), timeout=30)
    (incident,) = [i for i in listed if i["kind"] == "ledger_tampered"]
    assert incident["severity"] == "high" and incident["status"] == "open", incident
    assert f"altered_entry at position {edited}" in incident["summary"], incident
    line, _ = wait_home(r"FAILED: \d+ finding\(s\) · ")
    print(f"ledger tampering on {server.backend}: incident listed {seconds:.1f} s after the edit (schedule 5 s)")

    # The ledger page: the history, and "verify now" (no incident more: the same tampering).
    page = console.get("/console/ledger", headers=english)
    history = page.rows("verifications")
    assert len(history) >= 2 and any("FAILED" in row.text() for row in history.values()) and any(
        "verified" in row.text() for row in history.values()), page.text_of("verifications")
    answer = console.submit(page, "verify-ledger")
    assert answer.status == 200 and f"altered_entry at position {edited}" in answer.text, answer.text[:2000]
    assert_no_card_data(answer.text, "/console/ledger/verify")
    # The command line: the same incident; with --no-record, no row and no incident step.
    rows = lambda: int(server.query("SELECT count(*) FROM ledger_verifications WHERE started_by = 'command'")[0][0])
    before = rows()
    verified = server.cli("ledger", "verify")
    assert verified.returncode == 1 and f"incident {incident['id']} (ledger_tampered, high)" in verified.stdout, verified.stdout
    assert rows() == before + 1
    quiet = server.cli("ledger", "verify", "--no-record")
    assert quiet.returncode == 1 and "incident inc_" not in quiet.stdout and rows() == before + 1, quiet.stdout
    (still,) = [i for i in incidents(server) if i["kind"] == "ledger_tampered"]
    assert still["id"] == incident["id"] and still["events"] >= 3, still
    started = {row[0] for row in server.query("SELECT DISTINCT started_by FROM ledger_verifications")}
    assert {"schedule", "command"} <= started and any(s.startswith("console:") for s in started), started
