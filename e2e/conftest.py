"""Starts real `kessai serve` processes for the end-to-end tests.

Each server runs the built binary on a free loopback port with its own data directory, on
SQLite, and on PostgreSQL when KESSAI_E2E_PG_URL names a server (scripts/test.sh starts one).
"""
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid

import pytest
import stripe

# Nothing here may reach the network: until a test points the library at a local server, any
# call goes to a closed local port and fails at once.
stripe.api_base = "http://127.0.0.1:9"
stripe.max_network_retries = 0

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.environ.get("KESSAI_BINARY", os.path.join(ROOT, ".build", "debug", "kessai"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, backend, workdir, database_url=None, extra_args=(), binary=None):
        self.backend = backend
        self.binary = binary or BINARY
        self.extra_args = list(extra_args)
        self.data_dir = os.path.join(workdir, "data")
        self.log_path = os.path.join(workdir, "server.log")
        self.out_path = os.path.join(workdir, "server.out")
        self.port = free_port()
        self.database_url = database_url
        self.base = f"http://127.0.0.1:{self.port}"

    def args(self):
        args = ["--data-dir", self.data_dir]
        if self.database_url:
            args += ["--database-url", self.database_url]
        return args

    def start(self):
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        self.log = open(self.log_path, "ab")
        self.out = open(self.out_path, "ab")
        self.process = subprocess.Popen(
            [self.binary, "serve", "--port", str(self.port), *self.args(), *self.extra_args],
            stdout=self.out, stderr=self.log,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/ready", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("kessai did not become ready")
        text = open(self.out_path).read()
        self.secret_key = re.search(r"secret key:\s+(sk_test_\w+)", text).group(1)
        self.publishable_key = re.search(r"publishable key:\s+(pk_test_\w+)", text).group(1)

    def start_existing(self):
        """Starts another process on a data directory and database that already have their merchant."""
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        self.log = open(self.log_path, "ab")
        self.out = open(self.out_path, "ab")
        self.process = subprocess.Popen(
            [self.binary, "serve", "--port", str(self.port), *self.args(), *self.extra_args], stdout=self.out, stderr=self.log
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/ready", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("kessai did not become ready")

    def stop(self):
        """SIGTERM, as an orchestrator would; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            code = self.process.wait(timeout=30)
        else:
            code = self.process.returncode
        self.log.close()
        self.out.close()
        return code

    def kill(self):
        """SIGKILL: the process dies wherever it is, as in a power cut."""
        self.process.kill()
        self.process.wait(timeout=30)
        self.log.close()
        self.out.close()

    def query(self, sql):
        """Rows of a read-only query on the server's database (SQLite file or PostgreSQL)."""
        if self.database_url:
            out = subprocess.run(["psql", self.database_url, "-AtF", "\t", "-c", sql], capture_output=True, text=True, check=True).stdout
            return [tuple(line.split("\t")) for line in out.splitlines() if line]
        import sqlite3
        connection = sqlite3.connect(f"file:{os.path.join(self.data_dir, 'kessai.sqlite')}?mode=ro", uri=True, timeout=30)
        try:
            return [tuple(str(v) for v in row) for row in connection.execute(sql).fetchall()]
        finally:
            connection.close()

    def cli(self, *args):
        return subprocess.run([self.binary, *args, *self.args()], capture_output=True, text=True, timeout=120)


def backends():
    found = ["sqlite"]
    if os.environ.get("KESSAI_E2E_PG_URL"):
        found.append("postgres")
    return found


def make_database(admin_url):
    name = "kessai_e2e_" + uuid.uuid4().hex[:12]
    subprocess.run(["psql", admin_url, "-qc", f'CREATE DATABASE "{name}"'], check=True)
    return admin_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=backends())
def server(request):
    workdir = tempfile.mkdtemp(prefix="kessai-e2e-")
    url = make_database(os.environ["KESSAI_E2E_PG_URL"]) if request.param == "postgres" else None
    marker = request.node.get_closest_marker("server_args")
    srv = Server(request.param, workdir, url, extra_args=marker.args if marker else ())
    srv.start()
    # The Stripe library talks to this server only, never to the network.
    import stripe
    stripe.api_base = srv.base
    stripe.max_network_retries = 0
    yield srv
    srv.stop()
    stripe.api_base = "http://127.0.0.1:9"  # a closed local port: a stray call fails at once


def pytest_configure(config):
    config.addinivalue_line("markers", "server_args(*args): extra `kessai serve` flags for the server fixture")


def scan_for_card_data(server, cards):
    """Stops the server and searches its data directory, logs and (on PostgreSQL) a pg_dump for
    any of `cards` ((number, cvc) pairs): a card number anywhere, or a security code standing
    alone. Returns what was searched, by name."""
    import glob
    import re

    haystacks = {}
    for path in glob.glob(os.path.join(server.data_dir, "*")):
        haystacks[os.path.basename(path) + " (serving)"] = open(path, "rb").read()
    assert server.stop() == 0, "SIGTERM must drain and exit cleanly"
    for path in glob.glob(os.path.join(server.data_dir, "*")):
        haystacks[os.path.basename(path)] = open(path, "rb").read()
    haystacks["server log"] = open(server.log_path, "rb").read()
    haystacks["server stdout"] = open(server.out_path, "rb").read()
    if server.database_url:
        haystacks["pg_dump"] = subprocess.run(["pg_dump", server.database_url], capture_output=True, check=True).stdout
    for number, cvc in cards:
        for name, data in haystacks.items():
            assert number.encode() not in data, f"card number in {name}"
            standalone = re.compile(rb"(?<![0-9A-Za-z.])" + cvc.encode() + rb"(?![0-9A-Za-z.])")
            assert not standalone.search(data), f"security code {cvc} in {name}"
    return haystacks


ARTIFACTS = os.environ.get("KESSAI_ARTIFACTS", os.path.join(ROOT, ".build", "artifacts"))


def screenshot(driver, name):
    """Saves a PNG under $KESSAI_ARTIFACTS (default .build/artifacts); not committed."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    driver.save_screenshot(os.path.join(ARTIFACTS, name + ".png"))


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium through chromium-driver, in Japanese first."""
    import shutil

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1000,1000", "--lang=ja"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": "ja,en"})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
