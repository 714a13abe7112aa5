#!/usr/bin/env python3
"""Labelled evaluation data for piimask: NDJSON records with PII planted in
fields and in free text, among hard negatives that must survive.

A third of the records also carry a "log" line where phone numbers sit in
runs of digit groups joined by single spaces (two numbers side by side, a
number after a spaced date or a list of counts), and runs of small numbers
that hold none.

Realistic values come from Faker (many locales) and Google's `phonenumbers`
(real numbering plans: every planted phone is valid for its region). Each
record has a label list: (field, value, kind) where kind is a detector name
for planted PII or "negative" for values that must come through untouched.

usage: gen.py --records N --seed S --out DIR
"""
import argparse
import json
import random
import uuid

import phonenumbers
from faker import Faker
from phonenumbers import PhoneNumberFormat as F
from phonenumbers import PhoneNumberType as T

LOCALES = ["en_US", "en_GB", "fr_FR", "de_DE", "ja_JP", "es_ES", "it_IT", "nl_NL", "pt_BR", "en_IN",
           "en_AU", "es_MX", "pl_PL", "sv_SE", "ko_KR", "zh_CN", "ru_RU", "tr_TR", "en_CA", "da_DK"]
# Regions whose national formats piimask recognises without a `+`
# (patterns/phone.yaml); other regions' numbers are written internationally.
NATIONAL = ["US", "CA", "GB", "FR", "DE", "JP", "IN", "AU", "ES", "NL", "BR", "MX"]
OTHER = ["IT", "PL", "SE", "KR", "CN", "RU", "TR", "DK", "CH", "BE", "AT", "IE", "PT", "NO", "FI", "SG", "ZA", "AR", "NZ", "IL"]
PHONE_KEYS = ["phone", "mobile", "tel", "phoneNumber", "contact_phone", "cell"]
CONTEXT_WORDS = ["call", "tel", "phone", "mobile", "Call me on", "ring", "WhatsApp", "fax"]
IDN_DOMAINS = ["bücher.de", "exämple.de", "пример.рф", "例え.jp", "münchen.de", "xn--80ak6aa92e.com", "xn--bcher-kva.de"]


def random_valid_number(rng, region):
    """A random valid number of `region`, of a mobile or fixed-line type."""
    for kind in rng.sample([T.MOBILE, T.FIXED_LINE], 2):
        example = phonenumbers.example_number_for_type(region, kind)
        if example is None:
            continue
        nsn = str(example.national_number)
        for _ in range(50):
            keep = rng.randint(2, 4)
            digits = nsn[:keep] + "".join(rng.choice("0123456789") for _ in nsn[keep:])
            n = phonenumbers.parse("+%d%s" % (example.country_code, digits))
            if phonenumbers.is_valid_number_for_region(n, region):
                return n
    example = phonenumbers.example_number(region)
    return example


def phone_text(rng, in_field):
    """A written phone number. National formats only for regions piimask
    reads nationally; bare national digits only where context admits them
    (a phone field, or a context word placed by the caller)."""
    region = rng.choice(NATIONAL + OTHER)
    n = random_valid_number(rng, region)
    formats = [F.E164, F.INTERNATIONAL]
    if region in NATIONAL:
        formats.append(F.NATIONAL)
    fmt = rng.choice(formats)
    text = phonenumbers.format_number(n, fmt)
    bare = False
    if fmt == F.NATIONAL and rng.random() < 0.25:
        text = "".join(c for c in text if c.isdigit())
        bare = True
    if fmt == F.INTERNATIONAL and rng.random() < 0.2:
        text = "00" + text[1:]
    return text, bare


def national_grouped(rng):
    """A national number written in groups (`020 7946 0958`), of a region
    piimask reads nationally."""
    while True:
        region = rng.choice(NATIONAL)
        text = phonenumbers.format_number(random_valid_number(rng, region), F.NATIONAL)
        if any(not c.isdigit() for c in text):
            return text


def run_text(rng, d):
    """Phone numbers inside runs of digit groups joined by single spaces
    (side by side, after a spaced date or a list of counts, before a count),
    and runs of small numbers that hold none. Returns (text, labels)."""
    stamp = d.strftime("%Y %m %d") + " %02d %02d %02d" % (rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59))
    counts = " ".join(str(rng.randint(1, 99)) for _ in range(rng.randint(3, 9)))
    scores = " ".join(str(rng.randint(10, 99)) for _ in range(rng.randint(5, 10)))
    r = rng.random()
    if r < 0.3:
        a, b = national_grouped(rng), national_grouped(rng)
        return "lines %s %s" % (a, b), [a, b], []
    if r < 0.5:
        p = national_grouped(rng)
        return "logged %s %s" % (stamp, p), [p], [stamp]
    if r < 0.7:
        p = national_grouped(rng)
        return "items %s %s" % (counts, p), [p], []
    if r < 0.85:
        p = national_grouped(rng)
        return "dialled %s %d times" % (p, rng.randint(2, 99)), [p], []
    return "scores %s" % scores, [], [scores]


def email_text(rng, fake):
    r = rng.random()
    if r < 0.55:
        return fake.email()
    if r < 0.7:
        user = fake.user_name()
        return "%s+%s@%s" % (user, rng.choice(["news", "orders", "x1"]), fake.free_email_domain())
    if r < 0.85:
        first, last = fake.first_name(), fake.last_name()
        return "%s.%s@%s" % (first.replace(" ", ""), last.replace(" ", ""), rng.choice(IDN_DOMAINS + ["example.jp", "example.org"]))
    user = fake.user_name()
    return "%s@%s" % (user, rng.choice(IDN_DOMAINS))


def negatives(rng, fake):
    """Hard negatives: values that look numeric or structured but are not
    PII. Each is (key, value)."""
    ts = rng.randint(1_500_000_000, 1_800_000_000)
    d = fake.date_between(start_date="-5y", end_date="+1y")
    isbn13 = fake.isbn13()
    lat, lon = fake.latitude(), fake.longitude()
    return [
        ("created_at", ts),
        ("updated_ms", ts * 1000 + rng.randint(0, 999)),
        ("ts", str(ts)),
        ("date", d.isoformat()),
        ("datetime", "%sT%02d:%02d:%02dZ" % (d.isoformat(), rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59))),
        ("date_eu", d.strftime("%d/%m/%Y")),
        ("date_dots", d.strftime("%d.%m.%Y")),
        ("time", "%02d:%02d:%02d" % (rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59))),
        ("uuid", str(uuid.UUID(int=rng.getrandbits(128), version=4))),
        ("isbn", isbn13),
        ("isbn_plain", isbn13.replace("-", "")),
        ("isbn10", fake.isbn10()),
        ("order_id", "ORD-%d-%06d" % (d.year, rng.randint(0, 999999))),
        ("order_number", str(rng.randint(1_000_000_000, 9_999_999_999))),
        ("invoice", "INV-%d-%05d" % (d.year, rng.randint(0, 99999))),
        ("version", "%d.%d.%d" % (rng.randint(0, 20), rng.randint(0, 40), rng.randint(0, 200))),
        ("build", "%d.%d.%d.%d" % (rng.randint(1, 12), rng.randint(0, 9), rng.randint(10000, 22000), rng.randint(0, 2000))),
        ("price", "%d.%02d" % (rng.randint(1, 99999), rng.randint(0, 99))),
        ("price_text", "$%s" % format(rng.randint(1000, 9_999_999) / 100, ",.2f")),
        ("coordinates", "%s, %s" % (lat, lon)),
        ("md5", "%032x" % rng.getrandbits(128)),
        ("sha1", "%040x" % rng.getrandbits(160)),
        ("tracking", "1Z%s%010d" % ("".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(6)), rng.randint(0, 9_999_999_999))),
        ("sku", "SKU-%05d-%s" % (rng.randint(0, 99999), rng.choice("ABCDEFGH"))),
        ("zip", fake.postcode()),
        ("amount_cents", rng.randint(100, 10_000_000)),
    ]


TEXT_NEG = [
    "Order {order_id} shipped on {date} at {time}.",
    "ISBN {isbn} costs {price_text}; build {build}.",
    "Upgrade to {version} (released {datetime}).",
    "Located at {coordinates}, ts={ts}, ref {invoice}.",
    "Checksum {md5}, tracking {tracking}.",
]


def record(rng, fakes, i):
    fake = fakes[rng.choice(LOCALES)]
    labels = []
    rec = {"id": i}
    negs = negatives(rng, fake)
    chosen = rng.sample(negs, 6)
    for key, value in chosen:
        rec[key] = value
        labels.append([key, str(value), "negative"])
    rec["name"] = fake.name()
    rec["city"] = fake.city()
    # Planted PII in fields.
    if rng.random() < 0.9:
        rec["email"] = email_text(rng, fake)
        labels.append(["email", rec["email"], "email"])
    if rng.random() < 0.9:
        key = rng.choice(PHONE_KEYS)
        rec[key], _ = phone_text(rng, True)
        labels.append([key, rec[key], "phone"])
    # Free text mixing PII with negatives.
    negmap = dict((k, str(v)) for k, v in negs)
    parts = [rng.choice(TEXT_NEG).format(**negmap)]
    for neg_key in ["order_id", "date", "time", "isbn", "price_text", "build", "version", "datetime",
                    "coordinates", "ts", "invoice", "md5", "tracking"]:
        if "{%s}" % neg_key in parts[0]:
            labels.append(["note", negmap[neg_key], "negative"])
    planted = []
    if rng.random() < 0.6:
        e = email_text(rng, fake)
        parts.append(rng.choice(["Contact %s for details.", "cc: %s", "(reply to %s)"]) % e)
        planted.append(["note", e, "email"])
    if rng.random() < 0.6:
        p, bare = phone_text(rng, False)
        word = rng.choice(CONTEXT_WORDS) if bare or rng.random() < 0.5 else "or"
        parts.append("%s %s." % (word, p))
        planted.append(["note", p, "phone"])
    rng.shuffle(parts[1:])
    rec["note"] = " ".join(parts)
    labels.extend(planted)
    if rng.random() < 0.3:
        rec["log"], phones, kept = run_text(rng, fake.date_between(start_date="-5y", end_date="+1y"))
        labels.extend(["log", p, "phone"] for p in phones)
        labels.extend(["log", k, "negative"] for k in kept)
    return rec, labels


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    fakes = {}
    for loc in LOCALES:
        fakes[loc] = Faker(loc)
        fakes[loc].seed_instance(args.seed + len(fakes))
    with open(args.out + "/records.ndjson", "w", encoding="utf-8") as rf, \
         open(args.out + "/labels.ndjson", "w", encoding="utf-8") as lf:
        for i in range(args.records):
            rec, labels = record(rng, fakes, i)
            # Half the records escape non-ASCII (\\uXXXX), as many encoders do.
            rf.write(json.dumps(rec, ensure_ascii=rng.random() < 0.5) + "\n")
            lf.write(json.dumps(labels, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
