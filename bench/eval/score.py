#!/usr/bin/env python3
"""Scores piimask (and optionally Microsoft Presidio's recognizers) on the
labelled records from gen.py.

Recall per detector: a planted value is caught when it is gone from its
field. For piimask this is strict: an email's `local@` must be gone, and a
phone's last seven digits must no longer appear in the field's digits (a
half-masked number is a miss). For Presidio it is generous: any result of a
comparable entity overlapping the value counts.

Precision on negatives: the share of hard-negative values (timestamps, dates,
UUIDs, ISBNs, order ids, versions, prices, coordinates, hashes…) that come
through untouched.

usage: score.py --dir DIR [--presidio] [--min-email-recall R] [--min-phone-recall R] [--min-precision P]
"""
import argparse
import json
import re
import sys
import time
from collections import Counter, defaultdict


def digits(s):
    return re.sub(r"\D", "", s)


def piimask_caught(kind, value, field_text):
    if kind == "email":
        local = value.split("@")[0]
        return value not in field_text and (local + "@") not in field_text
    if kind == "phone":
        return digits(value)[-7:] not in digits(field_text)
    return value not in field_text


def field_text(rec, key):
    v = rec.get(key)
    return v if isinstance(v, str) else json.dumps(v)


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


class Score:
    def __init__(self):
        self.pii = Counter()
        self.caught = Counter()
        self.neg = 0
        self.neg_kept = 0
        self.neg_fail = Counter()
        self.misses = defaultdict(list)
        self.missed_in = Counter()

    def pii_result(self, key, kind, ok, example):
        self.pii[kind] += 1
        self.caught[kind] += ok
        if not ok:
            self.missed_in[key] += 1
            if len(self.misses[kind]) < 8:
                self.misses[kind].append(example)

    def neg_result(self, key, ok):
        self.neg += 1
        self.neg_kept += ok
        if not ok:
            self.neg_fail[key] += 1

    def recall(self, kind):
        return self.caught[kind] / max(1, self.pii[kind])

    def precision(self):
        return self.neg_kept / max(1, self.neg)

    def report(self, name):
        print("%-10s" % name, end="")
        for kind in sorted(self.pii):
            print("  %s recall %.4f (%d/%d)" % (kind, self.recall(kind), self.caught[kind], self.pii[kind]), end="")
        print("  precision %.4f (%d/%d negatives untouched)" % (self.precision(), self.neg_kept, self.neg))
        for kind, ex in self.misses.items():
            for e in ex[:4]:
                print("    missed %s: %s" % (kind, e))
        if self.missed_in:
            print("    misses, by field:", dict(self.missed_in.most_common(8)))
        if self.neg_fail:
            print("    negatives hit, by field:", dict(self.neg_fail.most_common(8)))


def score_piimask(records, labels, masked):
    s = Score()
    for rec, lab, out in zip(records, labels, masked):
        for key, value, kind in lab:
            text = field_text(out, key)
            if kind == "negative":
                s.neg_result(key, value in text)
            else:
                s.pii_result(key, kind, piimask_caught(kind, value, text), "%r -> %r" % (value, text[:120]))
    return s


def presidio_recognizers():
    # tldextract (used by the email recognizer) tries to download the public
    # suffix list; this machine is offline, so use its bundled snapshot.
    import tldextract
    import tldextract.tldextract as tx
    offline = tldextract.TLDExtract(suffix_list_urls=())
    tldextract.extract = offline
    tx.extract = offline
    from presidio_analyzer.predefined_recognizers import (CreditCardRecognizer, EmailRecognizer, IbanRecognizer,
                                                          IpRecognizer, PhoneRecognizer, UsSsnRecognizer)
    regions = ["US", "CA", "GB", "FR", "DE", "JP", "IN", "AU", "ES", "NL", "BR", "MX"]
    return [EmailRecognizer(), PhoneRecognizer(supported_regions=regions), CreditCardRecognizer(),
            IbanRecognizer(), UsSsnRecognizer(), IpRecognizer()]


def score_presidio(records, labels):
    recognizers = presidio_recognizers()
    s = Score()
    started = time.time()
    for rec, lab in zip(records, labels):
        spans = {}
        for key in {k for k, _, _ in lab}:
            text = field_text(rec, key)
            found = []
            for r in recognizers:
                found += r.analyze(text, r.supported_entities, None) or []
            spans[key] = (text, [(f.start, f.end) for f in found])
        for key, value, kind in lab:
            text, found = spans[key]
            at = text.find(value)
            hit = at >= 0 and any(a < at + len(value) and b > at for a, b in found)
            if kind == "negative":
                s.neg_result(key, not hit)
            else:
                s.pii_result(key, kind, hit, value)
    return s, time.time() - started


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--presidio", action="store_true")
    ap.add_argument("--piimask-seconds", type=float, default=0.0)
    ap.add_argument("--min-email-recall", type=float, default=0.0)
    ap.add_argument("--min-phone-recall", type=float, default=0.0)
    ap.add_argument("--min-precision", type=float, default=0.0)
    args = ap.parse_args()
    records = load(args.dir + "/records.ndjson")
    labels = load(args.dir + "/labels.ndjson")
    masked = load(args.dir + "/masked.ndjson")
    assert len(records) == len(labels) == len(masked), "record counts differ"
    print("%d records, %d labels" % (len(records), sum(len(l) for l in labels)))
    ours = score_piimask(records, labels, masked)
    ours.report("piimask")
    if args.presidio:
        theirs, seconds = score_presidio(records, labels)
        theirs.report("presidio")
        if args.piimask_seconds > 0:
            print("time: piimask %.3f s, presidio recognizers %.1f s (%.0fx)" % (
                args.piimask_seconds, seconds, seconds / args.piimask_seconds))
    ok = (ours.recall("email") >= args.min_email_recall and ours.recall("phone") >= args.min_phone_recall
          and ours.precision() >= args.min_precision)
    if not ok:
        print("piimask is below the thresholds (email recall %.3f, phone recall %.3f, precision %.3f)" % (
            args.min_email_recall, args.min_phone_recall, args.min_precision))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
