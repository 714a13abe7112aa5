"""Writes the JSON bodies the proxy benchmark serves: `1k.json` and
`64k.json`, order records with about 1% of their bytes personal data (an
email in one record of three, an international phone in one of six), the
rest the ids, timestamps, prices and prose that real APIs carry."""
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


def body(size, seed):
    rng = random.Random(seed)
    records, out = [], "[]"
    i = 0
    while True:
        records.append(record(rng, i))
        candidate = json.dumps(records, separators=(",", ":"))
        if len(candidate) > size:
            return out if out != "[]" else candidate
        out, i = candidate, i + 1


if __name__ == "__main__":
    folder = sys.argv[1]
    for name, size in [("1k", 1024), ("64k", 64 * 1024)]:
        text = body(size, seed=7)
        with open(f"{folder}/{name}.json", "w") as f:
            f.write(text)
        print(f"{name}.json: {len(text)} bytes", file=sys.stderr)
