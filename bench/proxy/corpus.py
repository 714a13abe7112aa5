"""Writes the JSON bodies the proxy benchmark serves, each at 1 KB and
64 KB:

- `1k.json`, `64k.json`: order records with about 1% of their bytes
  personal data (an email in one record of three, an international phone
  in one of six), the rest the ids, timestamps, prices and prose that real
  APIs carry;
- `users-1k.json`, `users-64k.json`: a user directory, the response
  piimask exists for: two emails and two phone numbers (international and
  national, several regions) in every record of ~250 bytes."""
import json
import random
import sys

LOREM = ("the parcel left the regional depot this morning and should arrive within two working days "
         "depending on weather and local holidays; no signature is needed for this delivery").split()


def record(rng, i):
    r = {
        "id": f"ord_{rng.randrange(10**9):09d}",
        "created_at": f"2026-11-{rng.randrange(1, 29):02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00Z",
        "status": rng.choice(["paid", "shipped", "delivered", "refunded"]),
        "total": {"amount": round(rng.uniform(3, 900), 2), "currency": "EUR"},
        "items": [{"sku": f"SKU-{rng.randrange(10**6):06d}", "qty": rng.randrange(1, 4),
                   "price": round(rng.uniform(1, 300), 2)} for _ in range(rng.randrange(1, 4))],
        "tracking": {"carrier": "DHL", "number": f"{rng.randrange(10**11):011d}",
                     "events": [{"at": 1732187400 + 3600 * k, "where": "depot"} for k in range(3)]},
        "note": " ".join(rng.choice(LOREM) for _ in range(60)),
    }
    if i % 3 == 0:
        r["customer_email"] = f"{rng.choice(['ana', 'li.wei', 'j.smith', 'm.rossi'])}{rng.randrange(1000)}@example.com"
    if i % 6 == 1:
        r["contact_phone"] = f"+44 20 7946 {rng.randrange(10000):04d}"
    return r


FIRST = ["ana", "li", "james", "maria", "oliver", "sofia", "noah", "emma", "lucas", "yuki", "amara", "mateo"]
LAST = ["lopez", "wei", "smith", "rossi", "martin", "muller", "dubois", "tanaka", "okafor", "silva", "jones", "novak"]
DOMAINS = ["example.com", "example.org", "mail.example.net", "corp.example.co.uk"]


def phone(rng):
    """A valid number in one of the ways people write it."""
    n4 = f"{rng.randrange(10000):04d}"
    return rng.choice([
        f"+44 20 7946 {n4}",
        f"020 7946 {n4}",
        f"+1 415 555 {rng.randrange(100, 200):04d}",
        f"(415) 555-{rng.randrange(100, 200):04d}",
        f"+33 1 39 32 {rng.randrange(100):02d} {rng.randrange(100):02d}",
        f"+49 30 901820{rng.randrange(100):02d}",
        f"+81 90 1234 {n4}",
        f"+61 2 9876 {n4}",
    ])


def user(rng, i):
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return {
        "id": f"usr_{rng.randrange(10**9):09d}",
        "name": f"{first.title()} {last.title()}",
        "email": f"{first}.{last}{rng.randrange(100)}@{rng.choice(DOMAINS)}",
        "recovery_email": f"{first[0]}{last}.{rng.randrange(1000)}@{rng.choice(DOMAINS)}",
        "phone": phone(rng),
        "mobile": phone(rng),
        "plan": rng.choice(["free", "pro", "team"]),
        "created_at": f"2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T{rng.randrange(24):02d}:00:00Z",
        "verified": rng.random() < 0.8,
    }


def body(size, seed, make=record):
    rng = random.Random(seed)
    records, out = [], "[]"
    i = 0
    while True:
        records.append(make(rng, i))
        candidate = json.dumps(records, separators=(",", ":"))
        if len(candidate) > size:
            return out if out != "[]" else candidate
        out, i = candidate, i + 1


if __name__ == "__main__":
    folder = sys.argv[1]
    for name, size, make in [("1k", 1024, record), ("64k", 64 * 1024, record),
                             ("users-1k", 1024, user), ("users-64k", 64 * 1024, user)]:
        text = body(size, seed=7, make=make)
        with open(f"{folder}/{name}.json", "w") as f:
            f.write(text)
        print(f"{name}.json: {len(text)} bytes", file=sys.stderr)
