#!/usr/bin/env python3
"""The encodings evaluation: personal data wrapped in the codings, charsets,
forms, markup and headers HTTP allows, sent through the real piimask, and
read back by a client that undoes every one of them.

Each item plants an email, a phone number and a card number (Faker in many
locales, libphonenumber-valid numbers written internationally, Luhn-valid
cards) among values that are not personal data and must come through. An
upstream on 127.0.0.1 serves the item (responses) or receives it (request
bodies); piimask sits in front with mTLS and its default profile plus a
`$..name` field rule. The client then decodes what it got as a careful
reader would: every Content-Encoding layer, the declared charset and BOM,
form and multipart encodings (base64, quoted-printable), a form's own
charset as Tomcat reads it, JSON by its NUL bytes whatever its label, HTML
references, percent-escapes (twice), Unicode compatibility forms, zero-width
characters and NUL (which browsers drop from HTML), and header values as
mail parsers read them (encoded-words, quoted-pairs, RFC 2231
continuations). A planted value it can still read has leaked.

Per class it reports values planted, leaked, items served and refused, and
the share of non-personal values that survived. Refusing is not leaking, but
a class piimask claims to handle must be served: the gates are recall (1 -
leaked/planted) and served share, per class, and negatives kept.

    python3 bench/eval/encodings.py [--items N] [--seed S] [--binary PATH]
        [--min-recall 0.99] [--min-served 0.99] [--min-kept 0.99]

The generator is seeded: `--seed` picks the data; classes are dealt round
robin so every class gets items/len(CLASSES) of them. Seed 7 is the data
the engine was tuned on; CI gates seed 11, held out.
"""

import argparse
import base64
import email.header
import email.message
import email.parser
import email.policy
import gzip
import html
import http.client
import json
import quopri
import random
import re
import ssl
import subprocess
import sys
import tempfile
import threading
import unicodedata
import urllib.parse
import zlib
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import phonenumbers
from faker import Faker

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from harness import start_piimask  # noqa: E402

try:
    import brotli
except ImportError:  # pragma: no cover - installed by .ci/setup
    brotli = None
try:
    import zstandard
except ImportError:  # pragma: no cover
    zstandard = None

SERVER_ID = "spiffe://piimask.dev/ns/app/sa/customers"
CLIENT_ID = "spiffe://piimask.dev/ns/billing/sa/billing"
LOCALES = ["en_US", "en_GB", "fr_FR", "de_DE", "ja_JP", "es_ES", "it_IT", "nl_NL", "pt_BR", "pl_PL", "sv_SE",
           "zh_CN", "ko_KR", "ru_RU"]
REGIONS = ["US", "GB", "FR", "DE", "JP", "ES", "IT", "NL", "BR", "PL", "SE", "CN", "KR", "IN", "AU", "CH", "BE"]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\u00ad"]
SPACES = ["\u00a0", "\u202f", "\u2009", "\u2007"]


# ---------------------------------------------------------------- values

def planted(rng, fakes):
    fake = rng.choice(fakes)
    mail = fake.user_name() + "@" + rng.choice(["example.com", "mail.example.org", "example.co.uk", "example.de"])
    region = rng.choice(REGIONS)
    number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE) \
        or phonenumbers.example_number(region)
    phone = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    # Card networks are not local: the en_US provider knows every one.
    card = fakes[0].credit_card_number(card_type=rng.choice(["visa16", "mastercard", "amex", "discover"]))
    if rng.random() < 0.5 and len(card) == 16:
        card = " ".join(card[i:i + 4] for i in range(0, 16, 4))
    return {"email": mail, "phone": phone, "card": card, "name": fake.name()}


def negatives(rng, fake):
    return [f"ORD-{rng.randint(100000, 999999)}", fake.date(), f"{rng.randint(1, 999)}.{rng.randint(10, 99)} EUR",
            fake.word() + "-" + fake.word(), str(fake.uuid4())]


# ---------------------------------------------------------------- spellings

def spell_email(rng, value, how):
    local, domain = value.split("@")
    if how == "html-ref":
        at = rng.choice(["&#64;", "&#x40;", "&#X40;", "&commat;", "&#064;"])
        return local + at + domain
    if how == "percent":
        return local + rng.choice(["%40", "%40"]) + domain
    if how == "fullwidth":
        return local + "\uff20" + domain
    if how == "zero-width":
        cut = rng.randint(1, max(1, len(local) - 1))
        return local[:cut] + rng.choice(ZERO_WIDTH) + local[cut:] + "@" + domain
    return value


def spell_phone(rng, value, how):
    if how == "unicode-space":
        return value.replace(" ", rng.choice(SPACES))
    if how == "html-nbsp":
        return value.replace(" ", "&nbsp;")
    if how == "fullwidth":
        return "".join(chr(ord(c) - 0x30 + 0xFF10) if c.isdigit() else c for c in value)
    if how == "tel-link":
        compact = re.sub(r"[^\d+]", "", value)
        return rng.choice([f'<a href="tel:{compact}">call</a>', f'<a href="https://wa.me/{compact[1:]}">chat</a>',
                           f'<a href="sms:{compact}">text</a>'])
    return value


def spell_card(rng, value, how):
    if how == "unicode-space" and " " in value:
        return value.replace(" ", rng.choice(SPACES))
    if how == "fullwidth":
        return "".join(chr(ord(c) - 0x30 + 0xFF10) if c.isdigit() else c for c in value)
    return value


# ---------------------------------------------------------------- bodies

def text_body(values, negs, spell=None, rng=None):
    email_, phone, card = values["email"], values["phone"], values["card"]
    if spell:
        email_ = spell_email(rng, email_, spell)
        phone = spell_phone(rng, phone, spell)
        card = spell_card(rng, card, spell)
    return (f"Order {negs[0]} placed on {negs[1]} for {negs[2]}.\n"
            f"Contact: {email_}, phone {phone}.\n"
            f"Paid with card {card}; ref {negs[3]} / {negs[4]}.\n")


def json_body(values, negs):
    return json.dumps({"order": negs[0], "date": negs[1], "total": negs[2], "ref": negs[3], "id": negs[4],
                       "customer": {"name": values["name"], "email": values["email"], "phone": values["phone"],
                                    "card": values["card"]}},
                      ensure_ascii=False)


def compress(name, data, rng):
    if name == "gzip":
        return gzip.compress(data, mtime=0)
    if name == "deflate":
        return zlib.compress(data)
    if name == "br":
        return brotli.compress(data)
    if name == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    raise ValueError(name)


def decompress(name, data):
    name = name.strip().lower()
    if name in ("gzip", "x-gzip"):
        out = b""
        # Every member, as a careful client reads it.
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        while data:
            out += d.decompress(data)
            data = d.unused_data
            d = zlib.decompressobj(16 + zlib.MAX_WBITS) if data else d
        return out
    if name == "deflate":
        return zlib.decompress(data)
    if name == "br":
        return brotli.decompress(data)
    if name == "zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    if name in ("", "identity"):
        return data
    raise ValueError(f"unknown coding {name}")


def form_body(values, negs, rng, encoding="utf-8"):
    pairs = [("order", negs[0]), ("email", values["email"]), ("phone", values["phone"]), ("note", negs[3]),
             ("card", values["card"]), ("date", negs[1]), ("total", negs[2]), ("id", negs[4])]
    rng.shuffle(pairs)
    return urllib.parse.urlencode(pairs, encoding=encoding, errors="xmlcharrefreplace").encode()


def whatwg_encode(text, codec):
    """`text` in `codec` as a browser's (WHATWG) encoder writes it: what
    the charset lacks as a numeric reference. Python's EUC-JP also encodes
    JIS X 0212 (three bytes after 0x8F), which WHATWG's encoder does not."""
    if codec != "euc-jp":
        return text.encode(codec, errors="xmlcharrefreplace")
    out = bytearray()
    for c in text:
        b = c.encode(codec, errors="xmlcharrefreplace")
        if b.startswith(b"\x8f"):
            b = f"&#{ord(c)};".encode()
        out += b
    return bytes(out)


def fullwidth(s):
    """`s` in fullwidth forms, where Shift_JIS has them."""
    def wide(c):
        w = chr(ord(c) + 0xFEE0)
        try:
            w.encode("shift_jis")
            return w
        except UnicodeEncodeError:
            return c
    return "".join(wide(c) if "!" <= c <= "~" else c for c in s)


def multipart_body(values, negs, rng, encoding):
    boundary = f"----piimask{rng.randint(10**8, 10**9)}"
    text = text_body(values, negs).encode()
    if encoding == "base64":
        encoded = base64.encodebytes(text)
    else:
        encoded = quopri.encodestring(text)
        # Soft line breaks inside the values, as mail writers cut long lines.
        encoded = encoded.replace(b"@", b"=\r\n@", 1)
    parts = [
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"order\"\r\n\r\n{negs[0]}\r\n".encode(),
        (f"--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n"
         f"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n").encode()
        + encoded + b"\r\n",
        f"--{boundary}--\r\n".encode(),
    ]
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


# ---------------------------------------------------------------- classes

def make(cls, rng, values, negs):
    """(content type, content-encoding lines, body bytes, extra headers) for a class."""
    plain = text_body(values, negs).encode()
    if cls == "control-text":
        return "text/plain", [], plain, {}
    if cls == "control-json":
        return "application/json", [], json_body(values, negs).encode(), {}
    if cls.startswith("coding-"):
        stack = cls[len("coding-"):].split("+")
        body = json_body(values, negs).encode()
        for layer in stack:
            body = compress(layer, body, rng)
        # Each layer on its own header line, in the order applied.
        return "application/json", stack, body, {}
    if cls.startswith("charset-"):
        charset = cls[len("charset-"):]
        text = text_body(values, negs)
        codec = {"utf-16": "utf-16", "utf-16le": "utf-16-le", "utf-16be": "utf-16-be", "utf-32": "utf-32"}.get(
            charset, charset)
        kind = "application/json" if charset == "utf-16" and rng.random() < 0.5 else "text/plain"
        if kind == "application/json":
            text = json_body(values, negs)
        if charset in ("shift_jis", "euc-jp"):
            text = "注文の確認です。ァ " + text
        if charset in ("gbk", "big5"):
            text = "訂單確認。" + text
        # Words a legacy charset lacks are written as references, as browsers do.
        return f"{kind}; charset={charset}", [], whatwg_encode(text, codec), {}
    if cls == "form":
        return "application/x-www-form-urlencoded", [], form_body(values, negs, rng), {}
    if cls in ("multipart-base64", "multipart-qp"):
        ctype, body = multipart_body(values, negs, rng, cls.split("-")[1].replace("qp", "quoted-printable"))
        return ctype, [], body, {}
    if cls.startswith("markup-"):
        spell = cls[len("markup-"):]
        body = text_body(values, negs, spell, rng)
        return "text/html; charset=utf-8", [], f"<html><body><p>{body}</p></body></html>".encode(), {}
    if cls == "json-malformed":
        bad = rng.choice(["NaN", "Infinity", "-Infinity"])
        records = [f'{{"id": 1, "score": {bad}}}'] + [json_body(values, negs)]
        return "application/json", [], ("[" + ", ".join(records) + "]").encode(), {}
    if cls == "headers":
        mail = values["email"]
        headers = {
            "Location": "/users/" + urllib.parse.quote(mail),
            "X-User-Email": mail,
            "Set-Cookie": "last_user=" + urllib.parse.quote(mail) + "; Path=/; HttpOnly",
            "Link": f"<mailto:{mail}>; rel=author",
            "X-Contact-Phone": values["phone"],
            "X-Card": values["card"],
        }
        return "text/plain", [], f"order {negs[0]} ok\n".encode(), headers
    if cls == "nul-utf16-in-page":
        # UTF-16 values pasted into a UTF-8 page: browsers drop the NULs.
        wide = {k: v.encode("utf-16-le") for k, v in values.items()}
        body = (f"<p>Order {negs[0]} placed on {negs[1]} for {negs[2]}.</p>\n<p>Contact: ".encode() + wide["email"]
                + b", phone " + wide["phone"] + b".</p>\n<p>Paid with card " + wide["card"]
                + f"; ref {negs[3]} / {negs[4]}.</p>\n".encode())
        return "text/html; charset=utf-8", [], b"<html><body>" + body + b"</body></html>", {}
    if cls == "label-mismatch":
        # UTF-16 JSON under a label naming another charset: JSON readers
        # go by the NULs (RFC 4627), not the label.
        codec, label = rng.choice([("utf-16-le", "windows-1252"), ("utf-16-be", "utf-16le"), ("utf-16-le", "utf-8")])
        return f"application/json; charset={label}", [], json_body(values, negs).encode(codec), {}
    if cls == "form-sjis":
        # Fullwidth values in a Shift_JIS form, as a Japanese browser sends
        # them; Tomcat and Jetty decode them by the charset parameter.
        wide = {k: fullwidth(v) for k, v in values.items()}
        return ("application/x-www-form-urlencoded; charset=shift_jis", [],
                form_body(wide, negs, rng, encoding="shift_jis"), {})
    if cls == "headers-syntax":
        # What header parsers join and unescape: adjacent encoded-words
        # cut inside the value, quoted-pairs, RFC 2231 continuations.
        mail, phone = values["email"], values["phone"]
        cut = rng.randint(1, len(mail) - 1)
        words = " ".join(f"=?utf-8?b?{base64.b64encode(p.encode()).decode()}?=" for p in (mail[:cut], mail[cut:]))
        quoted = mail.replace("@", "\\@") if rng.random() < 0.5 else mail.replace(".", "\\.", 1)
        pcut = rng.randint(1, len(phone) - 1)
        disposition = (f"attachment; filename*0*=utf-8''{urllib.parse.quote(phone[:pcut])}; "
                       f"filename*1*={urllib.parse.quote(phone[pcut:])}")
        headers = {"X-Owner": words, "X-Contact": f'"{quoted}"', "Content-Disposition": disposition,
                   "X-Card": "=?utf-16le?B?" + base64.b64encode(values["card"].encode("utf-16-le")).decode() + "?="}
        return "text/plain", [], f"order {negs[0]} ok\n".encode(), headers
    if cls == "stack":
        # A random stack: a spelling, maybe a charset, one or two codings.
        spell = rng.choice(["html-ref", "percent", "unicode-space", "fullwidth", "zero-width", "tel-link"])
        charset = rng.choice(["utf-8", "utf-16le", "utf-16be"])
        text = text_body(values, negs, spell, rng)
        body = text.encode(charset.replace("utf-16le", "utf-16-le").replace("utf-16be", "utf-16-be"))
        stack = rng.sample(["gzip", "deflate", "br", "zstd"], rng.randint(1, 2))
        for layer in stack:
            body = compress(layer, body, rng)
        return f"text/html; charset={charset}", stack, body, {}
    raise ValueError(cls)


CLASSES = (["control-text", "control-json"]
           + [f"coding-{s}" for s in ("gzip", "deflate", "br", "zstd", "gzip+gzip", "deflate+br", "gzip+zstd")]
           + [f"charset-{c}" for c in ("utf-16", "utf-16le", "utf-16be", "utf-32", "shift_jis", "euc-jp", "gbk",
                                      "big5", "euc-kr", "windows-1252")]
           + ["form", "multipart-base64", "multipart-qp"]
           + [f"markup-{s}" for s in ("html-ref", "percent", "fullwidth", "zero-width", "unicode-space",
                                      "html-nbsp", "tel-link")]
           + ["json-malformed", "headers", "stack"]
           + ["nul-utf16-in-page", "label-mismatch", "form-sjis", "headers-syntax"])
NAME_CLASSES = ["control-json", "json-malformed", "label-mismatch"]
# Request bodies go through the same decoding on the way to the app.
REQUEST_CLASSES = ["coding-gzip", "coding-br", "charset-utf-16le", "form", "multipart-base64", "multipart-qp",
                   "markup-html-ref", "form-sjis", "label-mismatch"]


# ---------------------------------------------------------------- reading back

def charset_of(content_type):
    m = re.search(r"charset\s*=\s*\"?([^\";\s]+)", content_type or "", re.I)
    return m.group(1).lower() if m else "utf-8"


def reveal_text(raw, content_type):
    """Everything a reader could make of `raw`: the text under every
    encoding it may hide behind."""
    charset = charset_of(content_type)
    for bom, name in ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
                      (b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if raw.startswith(bom):
            charset = name
            raw = raw[len(bom):]
            break
    try:
        text = raw.decode(charset, errors="replace")
    except LookupError:
        text = raw.decode("utf-8", errors="replace")
    views = [text]
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype == "application/json" and b"\0" in raw[:4]:
        # A JSON reader decodes bytes by their NULs (RFC 4627), whatever
        # the label says.
        views.append(raw.decode(json.detect_encoding(raw), errors="replace"))
    if ctype == "application/x-www-form-urlencoded":
        try:
            pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, encoding=charset, errors="replace")
        except LookupError:
            pairs = urllib.parse.parse_qsl(text, keep_blank_values=True)
        views.append(" ".join(f"{k} {v}" for k, v in pairs))
    if ctype.startswith("multipart/"):
        msg = email.parser.BytesParser(policy=email.policy.default).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
        for part in msg.walk():
            if not part.is_multipart():
                payload = part.get_payload(decode=True) or b""
                views.append(payload.decode("utf-8", errors="replace"))
                views.append(str(part.get_filename() or ""))
    out = []
    for v in views:
        v = html.unescape(v)
        v = urllib.parse.unquote(urllib.parse.unquote(v))
        v = unicodedata.normalize("NFKC", v)
        # Browsers drop NUL from HTML text.
        for z in ZERO_WIDTH + ["\ufeff", "\0"]:
            v = v.replace(z, "")
        out.append(v)
    return "\n".join(out)


def reveal_headers(headers):
    """Header values as mail-style parsers read them: encoded-words
    decoded (adjacent ones joined), quoted-pairs unescaped, RFC 2231
    continuations joined."""
    lines = []
    for k, v in headers:
        lines.append(f"{k}: {v}")
        try:
            lines.append(str(email.header.make_header(email.header.decode_header(v))))
        except Exception:  # a value no parser reads as words
            pass
        lines.append(re.sub(r"\\(.)", r"\1", v))
        if k.lower() == "content-disposition":
            m = email.message.Message()
            m["Content-Disposition"] = v
            lines.append(str(m.get_filename() or ""))
    return "\n".join(lines)


def compact(s):
    return re.sub(r"[\s\-().+/]", "", s).lower()


def leaked(value, revealed):
    return compact(value) in compact(revealed)


# ---------------------------------------------------------------- the run

def app_server(items, received):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            ctype, codings, body, extra = items[int(self.path.rsplit("/", 1)[1])]
            self.send_response(200)
            self.send_header("content-type", ctype)
            for c in codings:
                self.send_header("content-encoding", c)
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            if self.headers.get("transfer-encoding", "").lower() == "chunked":
                body = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0], 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    body += self.rfile.read(size + 2)[:size]
            else:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
            received[int(self.path.rsplit("/", 1)[1])] = ({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def read_back(headers, body):
    codings = [c.strip() for line in headers.get_all("content-encoding") or [] for c in line.split(",")
               if c.strip()] if hasattr(headers, "get_all") else \
        [c.strip() for c in headers.get("content-encoding", "").split(",") if c.strip()]
    for c in reversed(codings):
        body = decompress(c, body)
    return body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=len(CLASSES) * 20)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--binary", default=str(ROOT / "target/release/piimask"))
    ap.add_argument("--min-recall", type=float, default=0.0)
    ap.add_argument("--min-served", type=float, default=0.0)
    ap.add_argument("--min-kept", type=float, default=0.0)
    ap.add_argument("--show", type=int, default=2, help="leaks to print per class")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    fakes = [Faker(loc) for loc in LOCALES]
    for i, f in enumerate(fakes):
        f.seed_instance(args.seed * 100 + i)

    items, labels = [], []
    for i in range(args.items):
        cls = CLASSES[i % len(CLASSES)]
        values = planted(rng, fakes)
        negs = negatives(rng, rng.choice(fakes))
        items.append(make(cls, rng, values, negs))
        labels.append((cls, values, negs))
    requests = []
    for i in range(args.items // 4):
        cls = REQUEST_CLASSES[i % len(REQUEST_CLASSES)]
        values = planted(rng, fakes)
        negs = negatives(rng, rng.choice(fakes))
        requests.append((cls, values, negs, make(cls, rng, values, negs)))

    received = {}
    stats = defaultdict(lambda: defaultdict(int))
    shown = defaultdict(int)
    with tempfile.TemporaryDirectory() as work:
        pki = f"{work}/pki"
        subprocess.run([args.binary, "certs", "dev", "--out", pki], check=True, capture_output=True)
        app = app_server(items, received)
        Path(f"{work}/piimask.yaml").write_text(f"""
tls: {{cert: {pki}/server.crt, key: {pki}/server.key, ca: {pki}/ca.crt}}
profiles:
  records:
    fields:
      - {{path: "$..name", action: redact}}
inbound:
  listen: 127.0.0.1:0
  routes:
    - name: api
      allow: [{CLIENT_ID}]
      upstream: app
      response_profile: records
      request_profile: records
upstreams:
  - {{name: app, url: "http://127.0.0.1:{app.server_port}"}}
""")
        proc, ports = start_piimask(args.binary, ["run", "--config", f"{work}/piimask.yaml"], ["inbound"],
                                    f"{work}/piimask.log")
        context = ssl.create_default_context(cafile=f"{pki}/ca.crt")
        context.load_cert_chain(f"{pki}/client.crt", f"{pki}/client.key")

        def note(direction, cls, values, negs, status, revealed):
            key = f"{direction} {cls}"
            # Names are personal data only a field rule finds: judged where
            # they sit under a `name` key of a JSON body.
            if not (cls in NAME_CLASSES or cls.startswith("coding-")):
                values = {k: v for k, v in values.items() if k != "name"}
            if cls in ("headers", "headers-syntax"):
                negs = negs[:1]
            s = stats[key]
            s["items"] += 1
            if status != 200:
                s["refused"] += 1
                return
            s["served"] += 1
            for kind, value in values.items():
                s["planted"] += 1
                if leaked(value, revealed):
                    s["leaked"] += 1
                    if shown[key] < args.show:
                        shown[key] += 1
                        print(f"LEAK  {key}: {kind} survived", file=sys.stderr)
            for n in negs:
                s["negatives"] += 1
                s["kept"] += compact(n) in compact(revealed)

        try:
            conn = http.client.HTTPSConnection("localhost", ports["inbound"], context=context)
            for i, (cls, values, negs) in enumerate(labels):
                conn.request("GET", f"/item/{i}", headers={"accept-encoding": "gzip, deflate, br, zstd"})
                resp = conn.getresponse()
                revealed = ""
                try:
                    body = resp.read()
                except http.client.IncompleteRead:
                    # piimask aborts a body it finds it cannot mask part way
                    # (a corrupt layer or charset): nothing leaks, nothing served.
                    stats[f"response {cls}"]["aborted"] += 1
                    note("response", cls, values, negs, 0, "")
                    conn.close()
                    conn = http.client.HTTPSConnection("localhost", ports["inbound"], context=context)
                    continue
                if resp.status == 200:
                    try:
                        raw = read_back(resp.headers, body)
                    except Exception as e:  # a body the client cannot decode is a broken reply
                        print(f"BROKEN {cls}: {e}", file=sys.stderr)
                        stats[f"response {cls}"]["broken"] += 1
                        raw = body
                    header_text = reveal_headers(resp.headers.items())
                    revealed = reveal_text(raw, resp.headers.get("content-type")) + "\n" + \
                        reveal_text(header_text.encode(), "text/plain")
                note("response", cls, values, negs, resp.status, revealed)
                if resp.will_close:
                    conn.close()
                    conn = http.client.HTTPSConnection("localhost", ports["inbound"], context=context)
            for i, (cls, values, negs, (ctype, codings, body, _)) in enumerate(requests):
                headers = {"content-type": ctype}
                if codings:
                    headers["content-encoding"] = ", ".join(codings)
                # A connection each: piimask closes one whose request body it
                # refused before reading it.
                conn = http.client.HTTPSConnection("localhost", ports["inbound"], context=context)
                conn.request("POST", f"/in/{i}", body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                conn.close()
                revealed = ""
                if resp.status == 200 and i in received:
                    got_headers, raw = received[i]
                    try:
                        for c in reversed([c.strip() for c in got_headers.get("content-encoding", "").split(",")
                                           if c.strip()]):
                            raw = decompress(c, raw)
                    except Exception as e:
                        print(f"BROKEN request {cls}: {e}", file=sys.stderr)
                        stats[f"request {cls}"]["broken"] += 1
                    revealed = reveal_text(raw, got_headers.get("content-type"))
                note("request", cls, values, negs, resp.status, revealed)
        finally:
            proc.kill()
            proc.wait()

    failures = []
    print(f"{'class':34} {'items':>5} {'served':>6} {'refused':>7} {'planted':>7} {'leaked':>6} "
          f"{'recall':>7} {'kept':>6}")
    totals = defaultdict(int)
    for key in sorted(stats):
        s = stats[key]
        for k, v in s.items():
            totals[k] += v
        recall = 1 - s["leaked"] / s["planted"] if s["planted"] else 1.0
        served = s["served"] / s["items"]
        kept = s["kept"] / s["negatives"] if s["negatives"] else 1.0
        print(f"{key:34} {s['items']:5} {s['served']:6} {s['refused']:7} {s['planted']:7} {s['leaked']:6} "
              f"{recall:7.4f} {kept:6.3f}" + (f"  broken {s['broken']}" if s["broken"] else "")
              + (f"  aborted {s['aborted']}" if s["aborted"] else ""))
        if recall < args.min_recall:
            failures.append(f"{key}: recall {recall:.4f} < {args.min_recall}")
        if served < args.min_served:
            failures.append(f"{key}: served {served:.3f} < {args.min_served}")
        if kept < args.min_kept:
            failures.append(f"{key}: kept {kept:.3f} < {args.min_kept}")
        if s["broken"]:
            failures.append(f"{key}: {s['broken']} replies the client could not decode")
    t = totals
    print(f"{'all':34} {t['items']:5} {t['served']:6} {t['refused']:7} {t['planted']:7} {t['leaked']:6} "
          f"{1 - t['leaked'] / max(1, t['planted']):7.4f} {t['kept'] / max(1, t['negatives']):6.3f}")
    if failures:
        sys.exit("encodings eval below its gates:\n  " + "\n  ".join(failures))


if __name__ == "__main__":
    main()
