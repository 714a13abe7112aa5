#!/usr/bin/env python3
"""Capture audit: what actually crosses the wire, read from a packet capture.

Two workloads on loopback, each with its piimask sidecar, and every byte
between them captured with tshark:

    client ──mTLS──▶ piimask (inbound) ──▶ app            (the app's own hop)
    app ──▶ piimask (egress) ──mTLS──▶ piimask (peer) ──▶ peer app

The client fetches a customer record full of personal data; the app
posts personal data to its peer. From the capture, each TCP stream is put
back together and checked: every stream between sidecars, and between the
client and a sidecar, parses end to end as TLS records; no planted value
(plain, percent-encoded or JSON-escaped) appears in any stream but the
app's own localhost hops (app ↔ its sidecar), where it is expected and
found, which shows the capture saw the traffic. The peer app receives
only masked data.

    python3 tests/capture_audit.py [path/to/piimask]   (default target/debug/piimask)

Run by .ci/run after `apt-get install tshark` (capturing needs root or
the capture capabilities).
"""

import json
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import http.client
import urllib.parse
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from harness import Checks, start_piimask

ROOT = Path(__file__).resolve().parent.parent
SERVER_ID = "spiffe://piimask.dev/ns/app/sa/customers"
CLIENT_ID = "spiffe://piimask.dev/ns/billing/sa/billing"
EMAIL, PHONE, CARD = "ana.lopez@example.com", "+44 20 7946 0958", "4111 1111 1111 1111"
CUSTOMER = json.dumps({"customer": {"id": "c_1042", "email": EMAIL, "phone": PHONE, "card": CARD}})
# Every spelling of a planted value that would give it away.
PLANTED = [EMAIL, PHONE, CARD, urllib.parse.quote(EMAIL), EMAIL.replace("@", "\\u0040"), "7946 0958", "1111 1111"]


def app_server(handler_body):
    """A plain HTTP app on 127.0.0.1: `handler_body(method, path, body)` gives
    (content type, answer)."""
    class Handler(BaseHTTPRequestHandler):
        def read_body(self):
            if self.headers.get("transfer-encoding", "").lower() == "chunked":
                body = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0], 16)
                    if size == 0:
                        # Trailers, up to the empty line.
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return body
                    body += self.rfile.read(size + 2)[:size]
            length = int(self.headers.get("content-length") or 0)
            return self.rfile.read(length) if length else b""

        def handle_one(self, method):
            body = self.read_body()
            content_type, answer = handler_body(method, self.path, body)
            self.send_response(200)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def do_GET(self):
            self.handle_one("GET")

        def do_POST(self):
            self.handle_one("POST")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def streams(pcap):
    """Each TCP stream's bytes, per direction: {(stream, src port, dst port): bytes}."""
    out = subprocess.run(
        ["tshark", "-r", pcap, "-Y", "tcp.len > 0", "-T", "fields",
         "-e", "tcp.stream", "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tcp.seq", "-e", "tcp.payload"],
        check=True, capture_output=True, text=True).stdout
    segments = defaultdict(dict)
    for line in out.splitlines():
        stream, src, dst, seq, payload = line.split("\t")
        segments[(int(stream), int(src), int(dst))][int(seq)] = bytes.fromhex(payload.replace(":", ""))
    return {key: b"".join(parts[s] for s in sorted(parts)) for key, parts in segments.items()}


def parses_as_tls(data):
    """True if `data` is a whole sequence of TLS records (1.0–1.3 framing)."""
    at = 0
    while at < len(data):
        if at + 5 > len(data):
            return False
        kind, major, minor = data[at], data[at + 1], data[at + 2]
        length = int.from_bytes(data[at + 3:at + 5], "big")
        if kind not in (20, 21, 22, 23) or major != 3 or minor > 4 or length > 16384 + 2048:
            return False
        at += 5 + length
    return at == len(data)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "target/debug/piimask")
    check = Checks()

    with tempfile.TemporaryDirectory() as work:
        pki = f"{work}/pki"
        subprocess.run([binary, "certs", "dev", "--out", pki], check=True, capture_output=True)
        app = app_server(lambda m, p, b: ("application/json", CUSTOMER.encode()))
        peer_received = []
        peer_app = app_server(lambda m, p, b: (peer_received.append((p, b)), ("text/plain", b"ok"))[1])

        pcap = f"{work}/loopback.pcapng"
        tshark = subprocess.Popen(["tshark", "-i", "lo", "-f", "tcp", "-w", pcap, "-q"],
                                  stderr=subprocess.PIPE, text=True)
        # tshark says "Capturing on 'Loopback: lo'" once it is.
        while "Capturing on" not in (tshark.stderr.readline() or "Capturing on"):
            pass

        peer, peer_ports = start_piimask(binary, [
            "run", "--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{peer_app.server_port}",
            "--cert", f"{pki}/client.crt", "--key", f"{pki}/client.key", "--client-ca", f"{pki}/ca.crt",
            "--allow-peer", SERVER_ID], ["inbound"], f"{work}/peer.log")
        config = f"""
tls: {{cert: {pki}/server.crt, key: {pki}/server.key, ca: {pki}/ca.crt}}
inbound:
  listen: 127.0.0.1:0
  routes:
    - name: api
      allow: [{CLIENT_ID}]
      upstream: app
upstreams:
  - {{name: app, url: "http://127.0.0.1:{app.server_port}"}}
egress:
  listen: 127.0.0.1:0
  peers:
    - name: ledger
      hosts: [ledger.test]
      address: 127.0.0.1:{peer_ports["inbound"]}
      identity: {CLIENT_ID}
      mask_headers: [x-user-email]
"""
        Path(f"{work}/piimask.yaml").write_text(config)
        sidecar, ports = start_piimask(binary, ["run", "--config", f"{work}/piimask.yaml"], ["inbound", "egress"],
                               f"{work}/sidecar.log")
        try:
            # A peer (the billing identity) reads a customer record.
            context = ssl.create_default_context(cafile=f"{pki}/ca.crt")
            context.load_cert_chain(f"{pki}/client.crt", f"{pki}/client.key")
            conn = http.client.HTTPSConnection("localhost", ports["inbound"], context=context)
            conn.request("GET", "/customer")
            answer = conn.getresponse().read().decode()
            conn.close()
            check("[EMAIL]" in answer and EMAIL not in answer, f"the peer got the record masked: {answer}")

            # The app sends personal data to its peer through egress.
            conn = http.client.HTTPConnection("127.0.0.1", ports["egress"])
            body = json.dumps({"email": EMAIL, "note": f"call {PHONE}", "card": CARD})
            conn.request("POST", "/ledger?email=" + urllib.parse.quote(EMAIL), body=body,
                         headers={"host": "ledger.test", "content-type": "application/json", "x-user-email": EMAIL})
            status = conn.getresponse().status
            conn.close()
            check(status == 200 and len(peer_received) == 1, f"the app reached its peer ({status})")
            seen = " ".join(f"{p} {b.decode()}" for p, b in peer_received)
            check("[EMAIL]" in seen and "[PHONE]" in seen and not any(v in seen for v in PLANTED),
                  f"the peer app received only masked data: {seen}")
            time.sleep(1)
        finally:
            for p in (sidecar, peer):
                p.kill()
                p.wait()
            tshark.terminate()
            tshark.wait()

        tls_hops = {ports["inbound"]: "client ↔ sidecar", peer_ports["inbound"]: "sidecar ↔ peer sidecar"}
        app_hops = {app.server_port: "sidecar ↔ app", ports["egress"]: "app → egress"}
        clear_hops = {**app_hops, peer_app.server_port: "peer sidecar ↔ peer app"}
        seen_on = defaultdict(set)
        tls_streams = 0
        for (stream, src, dst), data in streams(pcap).items():
            hop_port = next((p for p in (src, dst) if p in tls_hops or p in clear_hops), None)
            if hop_port is None:
                continue
            hop = tls_hops.get(hop_port) or clear_hops[hop_port]
            for value in PLANTED:
                if value.encode() in data:
                    seen_on[value].add(hop)
            if hop_port in tls_hops:
                tls_streams += 1
                check(parses_as_tls(data), f"stream {stream} ({hop}, {src} → {dst}, {len(data)} bytes) is TLS throughout")
        check(tls_streams >= 4, f"{tls_streams} directions of TLS streams captured (both hops, both ways)")
        for value in PLANTED:
            hops = seen_on.get(value, set())
            check(hops <= set(app_hops.values()), f"`{value}` in clear only on the app's own hops: {sorted(hops) or 'none'}")
        check(EMAIL in seen_on and seen_on[EMAIL] == set(app_hops.values()),
              "the capture saw the planted email on both of the app's own hops (it sees what crosses)")

        if check.failures:
            for name in ("sidecar", "peer"):
                print(f"--- {name}.log\n" + "".join(open(f"{work}/{name}.log").readlines()[-15:]))
    check.finish("capture_audit", "no planted value crosses between workloads in clear; every hop between them is TLS")


if __name__ == "__main__":
    main()
