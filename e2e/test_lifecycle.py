"""Process lifecycle: readiness, draining on SIGTERM, migrations from the command line."""
import os
import signal
import socket
import tempfile
import time
import urllib.request

from conftest import BINARY, Server

import subprocess


def test_sigterm_drains_an_in_flight_request(server):
    body = b"type=card&card[number]=4242424242424242&card[exp_month]=12&card[exp_year]=2031"
    head = (
        f"POST /v1/payment_methods HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {server.publishable_key}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        # Half the body, then SIGTERM while the request is in flight, then the rest.
        sock.sendall(head + body[:20])
        time.sleep(0.3)
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert server.process.poll() is None, "the server must wait for the in-flight request"
        sock.sendall(body[20:])
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
    assert b'"object":"payment_method"' in reply
    assert server.process.wait(timeout=30) == 0
    # New connections are refused once it has stopped.
    try:
        urllib.request.urlopen(server.base + "/health", timeout=1)
        raise AssertionError("still serving after SIGTERM")
    except OSError:
        pass


def test_health_ready_and_migrate(server):
    with urllib.request.urlopen(server.base + "/health") as r:
        assert r.status == 200 and r.headers["Request-Id"].startswith("req_")
    with urllib.request.urlopen(server.base + "/ready") as r:
        assert r.status == 200 and server.backend.encode() in r.read()
    migrated = server.cli("migrate")
    assert migrated.returncode == 0 and "up to date" in migrated.stdout, migrated.stderr
    # Nothing Kessai writes is readable by group or others.
    for name in os.listdir(server.data_dir):
        assert os.stat(os.path.join(server.data_dir, name)).st_mode & 0o077 == 0, name


def test_production_mode_refuses_to_generate_keys():
    workdir = tempfile.mkdtemp(prefix="kessai-prod-")
    result = subprocess.run([BINARY, "migrate", "--mode", "production", "--data-dir", workdir],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "production mode never generates keys" in result.stderr
    assert not os.path.exists(os.path.join(workdir, "kessai.keys"))

    key_file = os.path.join(workdir, "prod.keys")
    made = subprocess.run([BINARY, "vault", "create-key-file", key_file], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    assert os.stat(key_file).st_mode & 0o777 == 0o600
    again = subprocess.run([BINARY, "vault", "create-key-file", key_file], capture_output=True, text=True, timeout=60)
    assert again.returncode != 0
    ok = subprocess.run([BINARY, "migrate", "--mode", "production", "--data-dir", workdir, "--key-file", key_file],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
