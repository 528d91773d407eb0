#!/usr/bin/env python3
"""Figures for the audit's findings 1-3 (issue 19), on a live `kessai serve` (SQLite, loopback):

1. ledger entries written for N refused API keys from one source (in the first window);
2. how long a connection that sent half a request head stays open;
3. how many card tries one checkout session takes before it stops answering about the card.

usage: python3 benchmarks/hardening.py [BINARY] [FAILURES]   (default .build/debug/kessai, 3000)
"""
import os, socket, sqlite3, subprocess, sys, tempfile, time, urllib.error, urllib.parse, urllib.request, re

BINARY = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".build", "debug", "kessai")
FAILURES = int(sys.argv[2]) if len(sys.argv) > 2 else 3000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


work = tempfile.mkdtemp(prefix="kessai-hardening-")
port = free_port()
base = f"http://127.0.0.1:{port}"
server = subprocess.Popen([BINARY, "serve", "--port", str(port), "--data-dir", work + "/data"],
                          stdout=open(work + "/out", "w"), stderr=open(work + "/err", "w"))
try:
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/ready", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    secret = re.search(r"secret key:\s+(sk_test_\w+)", open(work + "/out").read()).group(1)

    def entries():
        db = sqlite3.connect(work + "/data/kessai.sqlite")
        n = db.execute("SELECT (SELECT COUNT(*) FROM ledger_pending) + (SELECT COUNT(*) FROM ledger_entries)").fetchone()[0]
        db.close()
        return n

    time.sleep(2)
    before = entries()
    started = time.time()
    for i in range(FAILURES):
        request = urllib.request.Request(base + "/v1/payment_intents", headers={"Authorization": f"Bearer sk_test_madeup{i:08d}xxxxxxxx"})
        try:
            urllib.request.urlopen(request, timeout=5)
        except urllib.error.HTTPError as error:
            assert error.code == 401
    elapsed = time.time() - started
    time.sleep(2)
    added = entries() - before
    print(f"1. {FAILURES} refused keys in {elapsed:.1f} s: {added} ledger entries "
          f"({1000 * added / FAILURES:.1f} per 1,000; one aggregate entry follows when the minute ends)")

    form = urllib.parse.urlencode({
        "mode": "payment", "success_url": "https://shop.example/ok", "line_items[0][quantity]": "1",
        "line_items[0][price_data][currency]": "jpy", "line_items[0][price_data][unit_amount]": "1200",
        "line_items[0][price_data][product_data][name]": "Tea",
    }).encode()
    request = urllib.request.Request(base + "/v1/checkout/sessions", data=form, headers={"Authorization": f"Bearer {secret}"})
    session = re.search(r'"id":"(cs_\w+)"', urllib.request.urlopen(request).read().decode()).group(1)
    tries = 0
    for _ in range(30):
        page = urllib.parse.urlencode({"email": "a@example.com", "name": "A", "cardnumber": "4000000000009995", "exp": "12/30", "cvc": "123"}).encode()
        try:
            urllib.request.urlopen(urllib.request.Request(base + f"/checkout/{session}", data=page), timeout=10)
        except urllib.error.HTTPError as error:
            body = error.read().decode()
            if error.code != 402:
                break
        tries += 1
    print(f"3. one checkout session took {tries + 1} card tries: {tries} answered with the decline, "
          f"the last expired the session (HTTP {error.code}), and it answers nothing about the card after that")

    connection = socket.create_connection(("127.0.0.1", port))
    connection.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-a: ")
    connection.settimeout(300)
    started = time.time()
    connection.recv(100)
    print(f"2. a connection with half a request head was closed after {time.time() - started:.1f} s")
finally:
    server.terminate()
    server.wait()
