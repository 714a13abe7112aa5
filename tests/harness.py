"""What the Python black-box checks (tls_posture.py, capture_audit.py)
share: starting the real piimask and waiting for its listeners, and a
list of named checks that fails the script at the end if any failed."""

import json
import subprocess
import sys
import time


def start_piimask(binary, args, listeners, log_path):
    """Starts `piimask ARGS` with its log in a file (a pipe nobody drains
    would block piimask once it filled) and waits until every listener
    named in `listeners` ("inbound", "egress", …) is ready. Returns
    (process, {listener: port})."""
    log = open(log_path, "w")
    proc = subprocess.Popen([binary, *args], stderr=log)
    ports = {}
    deadline = time.time() + 30
    while time.time() < deadline and proc.poll() is None:
        for line in open(log_path):
            fields = json.loads(line).get("fields", {})
            message = fields.get("message", "")
            if message.endswith("listener ready") and "addr" in fields:
                ports[message.split()[0]] = int(fields["addr"].rsplit(":", 1)[1])
        if all(name in ports for name in listeners):
            return proc, ports
        time.sleep(0.1)
    proc.kill()
    sys.exit(f"piimask did not start: {open(log_path).read()}")


class Checks:
    """Named checks, printed as they are made."""

    def __init__(self):
        self.failures = []

    def __call__(self, ok, what):
        print(("ok    " if ok else "FAIL  ") + what)
        if not ok:
            self.failures.append(what)

    def finish(self, name, success):
        """Exits non-zero if any check failed; else prints `success`."""
        if self.failures:
            sys.exit(f"{name}: {len(self.failures)} check(s) failed")
        print(f"{name}: {success}")
