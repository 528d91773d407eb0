#!/usr/bin/env python3
"""Kessai demo shop: a merchant's site, on its own origin, selling one item with kessai.js.

    python3 examples/demo-shop/shop.py --secret-key sk_test_… --publishable-key pk_test_…

(or KESSAI_SECRET_KEY / KESSAI_PUBLISHABLE_KEY in the environment), with `kessai serve` running
at --kessai (default http://127.0.0.1:8080). Then open http://localhost:4242.

What it shows:
  * /           the shop page: Kessai's card fields (an iframe on Kessai's origin) inside the
                shop's page; the shop's script gets a token (pm_…) and never a card number.
  * /checkout   the other integration: the shop creates a Checkout Session and sends the buyer
                to Kessai's hosted page, which returns to /success.
At start it registers its origin with Kessai (POST /v1/embedding_origins) and reads kessai.js's
integrity hash from Kessai's script inventory, so the page pins it with `integrity=`.

Standard library only. --record FILE appends every request body the shop's server receives,
one JSON line each: the browser tests read it to show the shop never sees card data.
"""
import argparse
import html
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
PRICE = 2500
ITEM = "Kessai オリジナル手ぬぐい / Kessai tenugui"


def kessai_api(config, method, path, fields=None):
    """Calls Kessai's merchant API with the shop's secret key, as any server-side library would."""
    data = urllib.parse.urlencode(fields or {}).encode() if method == "POST" else None
    request = urllib.request.Request(config.kessai + path, data=data, method=method)
    request.add_header("Authorization", "Bearer " + config.secret_key)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


class Shop(BaseHTTPRequestHandler):
    config = None
    integrity = None

    def log_message(self, format, *args):
        sys.stderr.write("shop: " + (format % args) + "\n")

    def record(self, body):
        if self.config.record:
            with open(self.config.record, "a") as out:
                out.write(json.dumps({"path": self.path, "body": body.decode("utf-8", "replace")}) + "\n")

    def send(self, status, body, content_type="text/html; charset=utf-8", headers=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def policy(self):
        kessai = self.config.kessai
        return (f"default-src 'self'; script-src 'self' {kessai}; frame-src {kessai}; connect-src 'self' {kessai}; "
                "style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'")

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        if url.path == "/":
            return self.index()
        if url.path == "/shop.js":
            return self.send(200, open(os.path.join(HERE, "shop.js"), "rb").read(), "text/javascript; charset=utf-8")
        if url.path == "/shop.css":
            return self.send(200, open(os.path.join(HERE, "shop.css"), "rb").read(), "text/css; charset=utf-8")
        if url.path == "/checkout":
            return self.checkout()
        if url.path == "/success":
            return self.success(urllib.parse.parse_qs(url.query).get("session_id", [""])[0])
        self.send(404, "not found", "text/plain")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 64 * 1024))
        self.record(body)
        if self.path == "/create-payment-intent":
            try:
                payment_method = json.loads(body).get("payment_method", "")
            except ValueError:
                return self.send(400, json.dumps({"error": "send JSON"}), "application/json")
            # The shop's server sees a token, never a card: it asks Kessai to charge the token.
            status, intent = kessai_api(self.config, "POST", "/v1/payment_intents", {
                "amount": PRICE, "currency": "jpy", "payment_method": payment_method,
                "description": ITEM, "metadata[order]": "demo-" + os.urandom(4).hex(),
            })
            if status != 200:
                return self.send(status, json.dumps({"error": intent.get("error", {}).get("message", "error")}), "application/json")
            return self.send(200, json.dumps({"client_secret": intent["client_secret"], "id": intent["id"]}), "application/json")
        self.send(404, "not found", "text/plain")

    def page(self, title, main):
        return f"""<!doctype html><html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{html.escape(title)}</title><link rel="stylesheet" href="/shop.css"></head><body>
<header>Kessai Demo Shop <small>(この店のサーバーはカード番号を一切受け取りません)</small></header><main>{main}</main></body></html>"""

    def index(self):
        kessai = html.escape(self.config.kessai)
        main = f"""
<section class="item"><h1>{html.escape(ITEM)}</h1><p class="price">¥{PRICE:,}</p></section>
<form id="payment-form" data-publishable-key="{html.escape(self.config.publishable_key)}">
  <label for="name">お名前 / Name</label><input id="name" name="name" autocomplete="name" value="山田 太郎">
  <label>カード / Card</label><div id="card-element"></div>
  <p id="card-errors" role="alert"></p>
  <button id="pay" type="submit">¥{PRICE:,} を支払う / Pay</button>
</form>
<p id="result" role="status"></p>
<p class="alt"><a href="/checkout" id="hosted">Kessai のお支払いページで支払う / Pay on Kessai's hosted page</a></p>
<script src="{kessai}/js/v1/kessai.js" integrity="{html.escape(self.integrity)}" crossorigin="anonymous"></script>
<script src="/shop.js"></script>"""
        self.send(200, self.page("Kessai Demo Shop", main), headers=[("Content-Security-Policy", self.policy())])

    def origin(self):
        return f"http://localhost:{self.config.port}"

    def checkout(self):
        status, session = kessai_api(self.config, "POST", "/v1/checkout/sessions", {
            "mode": "payment", "line_items[0][price_data][currency]": "jpy",
            "line_items[0][price_data][unit_amount]": PRICE, "line_items[0][price_data][product_data][name]": ITEM,
            "line_items[0][quantity]": 1, "success_url": self.origin() + "/success?session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": self.origin() + "/",
        })
        if status != 200:
            return self.send(502, self.page("Error", f"<p>{html.escape(json.dumps(session))}</p>"))
        self.send(303, "", headers=[("Location", session["url"])])

    def success(self, session_id):
        status, session = kessai_api(self.config, "GET", "/v1/checkout/sessions/" + urllib.parse.quote(session_id))
        if status != 200:
            return self.send(404, self.page("Not found", "<p id='result' data-status='unknown'>注文が見つかりません / Order not found</p>"))
        paid = session.get("payment_status") == "paid"
        text = "ご購入ありがとうございました / Thank you for your order" if paid else "お支払いは完了していません / Not paid"
        main = (f"<p id='result' data-status='{'succeeded' if paid else 'unpaid'}'>{text}</p>"
                f"<p>¥{session.get('amount_total', 0):,} — {html.escape(session.get('payment_intent') or '')}</p><p><a href='/'>戻る / Back</a></p>")
        self.send(200, self.page("Thank you", main))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=4242)
    parser.add_argument("--kessai", default=os.environ.get("KESSAI_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--secret-key", default=os.environ.get("KESSAI_SECRET_KEY"))
    parser.add_argument("--publishable-key", default=os.environ.get("KESSAI_PUBLISHABLE_KEY"))
    parser.add_argument("--record", help="append every request body received to this file (tests)")
    config = parser.parse_args()
    if not config.secret_key or not config.publishable_key:
        parser.error("the demo merchant's keys are needed: --secret-key sk_test_… --publishable-key pk_test_… "
                     "(printed by the first `kessai serve`)")
    config.kessai = config.kessai.rstrip("/")
    Shop.config = config
    # The integrity hash comes from Kessai's inventory, not from hashing what is served.
    with urllib.request.urlopen(config.kessai + "/js/v1/inventory.json", timeout=30) as response:
        scripts = json.loads(response.read())["scripts"]
    Shop.integrity = next(s["integrity"] for s in scripts if s["path"] == "/js/v1/kessai.js")
    status, registered = kessai_api(config, "POST", "/v1/embedding_origins", {"origin": f"http://localhost:{config.port}"})
    if status != 200:
        sys.exit(f"could not register the shop's origin with Kessai: {registered}")
    server = ThreadingHTTPServer(("127.0.0.1", config.port), Shop)
    print(f"Demo shop on http://localhost:{config.port} (Kessai at {config.kessai})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
