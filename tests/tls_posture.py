#!/usr/bin/env python3
"""The mTLS listener's TLS posture, scanned by a real scanner (sslyze).

Starts `piimask run` with a throw-away PKI, scans it twice (without a
client certificate, to learn what the server demands, and with one, to
reach every cipher-suite test), and checks: client certificate required;
no SSL 2/3, TLS 1.0 or 1.1; TLS 1.3 offered; every TLS 1.2 suite forward
secret (ECDHE) and AEAD (GCM or ChaCha20-Poly1305); no compression,
Heartbleed, ROBOT, CCS injection or insecure renegotiation; the extended
master secret supported. Compliance with Mozilla's "intermediate"
profile is reported too. Exits non-zero, naming each failed check.

    python3 tests/tls_posture.py [path/to/piimask]   (default target/debug/piimask)

Run by .ci/run after `pip install sslyze`.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import Checks, start_piimask

from sslyze import (
    ClientAuthenticationCredentials,
    ClientAuthRequirementEnum,
    RobotScanResultEnum,
    ScanCommand,
    Scanner,
    ServerNetworkConfiguration,
    ServerNetworkLocation,
    ServerScanRequest,
    ServerScanStatusEnum,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALLOWED = "spiffe://cluster.local/ns/billing/sa/billing"


def scan(port, credentials, commands):
    location = ServerNetworkLocation("localhost", port, ip_address="127.0.0.1")
    config = ServerNetworkConfiguration("localhost", tls_client_auth_credentials=credentials)
    scanner = Scanner()
    request = ServerScanRequest(server_location=location, scan_commands=commands, network_configuration=config)
    scanner.queue_scans([request])
    [result] = list(scanner.get_results())
    if result.scan_status != ServerScanStatusEnum.COMPLETED:
        sys.exit(f"tls_posture: scan did not complete: {result.connectivity_error_trace}")
    return result


def attempt(result, name):
    a = getattr(result.scan_result, name)
    if a.error_reason is not None:
        sys.exit(f"tls_posture: {name} failed to run: {a.error_reason} {a.error_trace}")
    return a.result


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/debug/piimask")
    check = Checks()

    with tempfile.TemporaryDirectory() as pki:
        subprocess.run([binary, "certs", "dev", "--out", pki], check=True, capture_output=True)
        proc, ports = start_piimask(binary, [
            "run", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:9",
            "--cert", f"{pki}/server.crt", "--key", f"{pki}/server.key",
            "--client-ca", f"{pki}/ca.crt", "--allow-peer", ALLOWED], ["inbound"], f"{pki}/piimask.log")
        port = ports["inbound"]
        try:
            bare = scan(port, None, {ScanCommand.TLS_COMPRESSION})
            check(bare.connectivity_result.client_auth_requirement == ClientAuthRequirementEnum.REQUIRED,
                  f"a client certificate is required ({bare.connectivity_result.client_auth_requirement.name})")

            credentials = ClientAuthenticationCredentials(
                certificate_chain_path=Path(pki, "client.crt"), key_path=Path(pki, "client.key"))
            commands = {
                ScanCommand.SSL_2_0_CIPHER_SUITES, ScanCommand.SSL_3_0_CIPHER_SUITES,
                ScanCommand.TLS_1_0_CIPHER_SUITES, ScanCommand.TLS_1_1_CIPHER_SUITES,
                ScanCommand.TLS_1_2_CIPHER_SUITES, ScanCommand.TLS_1_3_CIPHER_SUITES,
                ScanCommand.TLS_COMPRESSION, ScanCommand.HEARTBLEED, ScanCommand.ROBOT,
                ScanCommand.OPENSSL_CCS_INJECTION, ScanCommand.SESSION_RENEGOTIATION,
                ScanCommand.TLS_EXTENDED_MASTER_SECRET, ScanCommand.TLS_FALLBACK_SCSV,
            }
            full = scan(port, credentials, commands)
            for name in ["ssl_2_0", "ssl_3_0", "tls_1_0", "tls_1_1"]:
                accepted = attempt(full, f"{name}_cipher_suites").accepted_cipher_suites
                label = name.upper().replace("_", " ", 1).replace("_", ".")
                check(not accepted, f"{label} refused ({len(accepted)} suites accepted)")
            tls12 = [s.cipher_suite.name for s in attempt(full, "tls_1_2_cipher_suites").accepted_cipher_suites]
            tls13 = [s.cipher_suite.name for s in attempt(full, "tls_1_3_cipher_suites").accepted_cipher_suites]
            check(bool(tls13), f"TLS 1.3 offered: {', '.join(tls13)}")
            weak = [s for s in tls12 if "ECDHE" not in s or not ("GCM" in s or "CHACHA20" in s)]
            check(not weak, f"TLS 1.2 suites all ECDHE + AEAD: {', '.join(tls12)}{' — weak: ' + ', '.join(weak) if weak else ''}")
            check(not attempt(full, "tls_compression").supports_compression, "no TLS compression")
            check(not attempt(full, "heartbleed").is_vulnerable_to_heartbleed, "not vulnerable to Heartbleed")
            check(not attempt(full, "openssl_ccs_injection").is_vulnerable_to_ccs_injection, "not vulnerable to CCS injection")
            robot = attempt(full, "robot").robot_result
            check(robot in (RobotScanResultEnum.NOT_VULNERABLE_NO_ORACLE, RobotScanResultEnum.NOT_VULNERABLE_RSA_NOT_SUPPORTED),
                  f"not vulnerable to ROBOT ({robot.name})")
            reneg = attempt(full, "session_renegotiation")
            check(not reneg.is_vulnerable_to_client_renegotiation_dos, "no client-initiated renegotiation")
            check(attempt(full, "tls_extended_master_secret").supports_ems_extension, "extended master secret supported")
            check(attempt(full, "tls_fallback_scsv").supports_fallback_scsv or not tls12,
                  "downgrade protection (TLS_FALLBACK_SCSV or TLS 1.3-only)")
        finally:
            proc.kill()
            proc.wait()

    check.finish("tls_posture", "the mTLS listener passes every check")


if __name__ == "__main__":
    main()
