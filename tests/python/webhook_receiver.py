"""A webhook receiver for rotor's webhook target, and the example the README points to.

It verifies every request's signature (HMAC-SHA256 with the shared signing key of "v2", the method, the Host
header, the path with its query, the timestamp and the body, one per line; the timestamp at most five minutes
old; with --key-id, the X-Rotor-Key-Id header must name that key), keeps the credential each secret was set to, answers test requests by
the credential's fingerprint, and can mint credentials. Test modes make it fail on purpose.

    webhook_receiver.py --cert server.pem --key server.key --signing-key-file key [--mode MODE] [--log FILE]

MODE: normal (default), fail (500 on every request), slow (answers after 10 s), badbody (mint answers no JSON),
redirect (307 to /set on --redirect-to's port), huge (500 with a 256 MiB body).
It prints "listening on PORT" once ready. GET /credential?secret=ARN returns what a secret was set to (for tests).
"""

import argparse
import hashlib
import hmac
import json
import secrets
import ssl
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("--cert", required=True)
parser.add_argument("--key", required=True)
parser.add_argument("--signing-key-file", required=True)
parser.add_argument("--mode", default="normal", choices=["normal", "fail", "slow", "badbody", "redirect", "huge"])
parser.add_argument("--redirect-to", type=int, default=0)
parser.add_argument("--key-id")
parser.add_argument("--log")
# TLS offers outside FIPS (the FIPS build's negative test): TLS 1.2 with ChaCha20-Poly1305 suites only, or with the
# X25519 key exchange only.
parser.add_argument("--tls", default="default", choices=["default", "chacha20-only", "x25519-only"])
args = parser.parse_args()
SIGNING_KEY = open(args.signing_key_file, "rb").read().strip()
credentials = {}  # secret ARN -> the credential set for it
minted = {}  # rotation token -> the credential minted for it (the same answer on a retry)


def fingerprint(value):
    return hashlib.sha256(value.encode()).hexdigest()[:16]


class Receiver(BaseHTTPRequestHandler):
    def answer(self, status, payload):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        self.answer(200, {"credential": credentials.get(query.get("secret", [""])[0])})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if args.log:
            with open(args.log, "a") as log:
                log.write(json.dumps({"path": self.path, "headers": dict(self.headers), "body": body.decode()}) + "\n")
        timestamp = self.headers.get("x-rotor-timestamp", "0")
        signed = "\n".join(["v2", self.command, self.headers.get("host", "").lower(), self.path, timestamp]).encode()
        expected = "v2=" + hmac.new(SIGNING_KEY, signed + b"\n" + body, hashlib.sha256).hexdigest()
        fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) < 300
        key_known = args.key_id is None or self.headers.get("x-rotor-key-id") == args.key_id
        if not (fresh and key_known and hmac.compare_digest(self.headers.get("x-rotor-signature", ""), expected)):
            return self.answer(401, {"error": "bad signature"})
        if args.mode == "fail":
            return self.answer(500, {"error": "the receiver is failing on purpose"})
        if args.mode == "redirect":
            self.send_response(307)
            self.send_header("location", f"https://localhost:{args.redirect_to}/set")
            self.send_header("content-length", "0")
            self.end_headers()
            return
        if args.mode == "huge":
            self.send_response(500)
            self.send_header("content-length", str(256 << 20))
            self.end_headers()
            chunk = b"x" * (1 << 20)
            try:
                for _ in range(256):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        if args.mode == "slow":
            time.sleep(10)
        request = json.loads(body)
        path = urllib.parse.urlparse(self.path).path
        if path == "/set":
            credentials[request["secret_arn"]] = request["pending"]
            return self.answer(200, {"ok": True})
        if path == "/test":
            known = credentials.get(request["secret_arn"])
            if known is not None and fingerprint(known) == request["fingerprint"]:
                return self.answer(200, {"ok": True})
            return self.answer(409, {"error": "that credential was never set here"})
        if path == "/mint":
            if args.mode == "badbody":
                return self.answer(200, b"minted, but not JSON")
            value = minted.setdefault(request["token"], secrets.token_urlsafe(32))
            return self.answer(200, {"value": value})
        return self.answer(404, {"error": "no such endpoint"})

    def log_message(self, *_):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(args.cert, args.key)
if args.tls != "default":
    # TLS 1.3's suites cannot be narrowed from Python: offer TLS 1.2 alone, where they can.
    context.maximum_version = ssl.TLSVersion.TLSv1_2
if args.tls == "chacha20-only":
    context.set_ciphers("ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305")
elif args.tls == "x25519-only":
    context.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256")
    context.set_ecdh_curve("X25519")
server.socket = context.wrap_socket(server.socket, server_side=True)
print(f"listening on {server.server_address[1]}", flush=True)
server.serve_forever()
