#!/usr/bin/env python3
"""Labelled QUIET log corpus: production-like logs where about one line in 100 carries
personal data and the rest is timestamps, UUIDs, hex ids, durations, paths, status codes,
order numbers, byte counts and versions.

usage: gen_quiet.py --seed N --size-mb M --out DIR [--pii-rate 0.01] [--faker]

Writes, under DIR, the same files as corpus/gen_corpus.py (so corpus/score.py and
corpus/peers/rg_scan.sh work on it unchanged):
  nginx.log      nginx access log behind a load balancer (custom log_format: ISO time,
                 $request_id, request, status, bytes, request/upstream time, upstream name,
                 user agent; no client address)
  app.json.log   JSON application logs: Logback/JSON (trace_id/span_id hex), Go zap, Node pino,
                 Datadog decimal dd.trace_id, Kafka consumer offsets, .NET exceptions
  syslog.log     Kubernetes node journal: systemd, kubelet (klog), containerd, journald, cron,
                 kernel, application stdout
  sql.log        PostgreSQL log: duration/statement, execute/parameters, checkpoints,
                 autovacuum, temporary files, connection authorised, errors
  export.csv     shipment export (header on line 1)
  labels.jsonl   one row per span, format of gen_corpus.py: file, line, start, end,
                 abs_start, abs_end, type, value, locale, neg
  manifest.json  seed, sizes, counts per type, and how the personal values were made

Positives (neg=false), on ~--pii-rate of the lines: EMAIL PHONE IBAN CREDIT_CARD FR_NIR
ES_DNI ES_NIE IT_CF NL_BSN DE_TAXID PL_PESEL UK_NINO US_SSN, and a few IPV4/IPV6 (Custos
counts addresses as personal data, so this corpus has no address that is not labelled).

Hard negatives (neg=true, NEG_*), labelled where they could look like a detector's shape:
NEG_UUID, NEG_HEX (request/trace/span/container ids, git SHAs, >= 16 hex digits), NEG_ORDER
(ORD-YYYY-NNNNNNNN, INV-0000NNNNNN zero padded), NEG_ID (bare numeric ids, 9-20 digits: order
ids, Datadog trace/span ids, Kafka offsets, primary keys), NEG_EPOCH (10-digit s / 13-digit ms),
NEG_BYTES (byte counts of 9+ digits), NEG_TRACKING (parcel numbers), NEG_VERSION (semver,
4-part builds, and .NET 'Version=8.0.0.0' assembly references, which are dotted quads).
Unlike gen_corpus.py, numeric decoys are NOT redrawn until they fail the checksums: they are
drawn as production systems draw them, so about 1 in 10 passes Luhn and 1 in 11 of the 9-digit
ones passes the BSN 11-test by chance. Such a decoy gets a suffix naming the check it passes
(NEG_ID+LUHN, NEG_BYTES+BSN, NEG_EPOCH+PESEL ...), so score.py's false-positive causes say
which decoys are indistinguishable by checksum alone. Short numbers (ports, status codes,
durations, counts under 9 digits) are not labelled.

Personal values: by default from the standard library (built here, each one checked with
corpus/validators.py, so the labels are right), which makes the corpus deterministic per
--seed, --size-mb and --pii-rate with no third-party package. --faker takes them from
corpus/gen_corpus.py's generators instead (the dense corpus' distribution; needs Faker and is
then deterministic per Faker version too). The quiet lines never need Faker and are the same
in both modes (separate random streams).
"""
import argparse
import datetime as dt
import json
import os
import random
import string
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "corpus"))
import validators as V  # noqa: E402

ALL_LOCALES = ["fr_FR", "de_DE", "es_ES", "it_IT", "nl_NL", "pl_PL", "en_GB", "en_US"]
NATIONAL = {"fr_FR": ["FR_NIR"], "de_DE": ["DE_TAXID"], "es_ES": ["ES_DNI", "ES_NIE"],
            "it_IT": ["IT_CF"], "nl_NL": ["NL_BSN"], "pl_PL": ["PL_PESEL"],
            "en_GB": ["UK_NINO"], "en_US": ["US_SSN"]}
CHECKERS = {"FR_NIR": V.fr_nir_ok, "ES_DNI": V.es_dni_ok, "ES_NIE": V.es_dni_ok,
            "IT_CF": V.it_cf_ok, "NL_BSN": V.nl_bsn_ok, "PL_PESEL": V.pl_pesel_ok,
            "DE_TAXID": V.de_taxid_ok, "UK_NINO": V.uk_nino_ok, "US_SSN": V.us_ssn_ok,
            "IBAN": V.iban_ok, "CREDIT_CARD": V.luhn_ok}
EPOCH0 = dt.datetime(1970, 1, 1)


def chance(v):
    """Checks a digits-only decoy passes by chance (the suffix of its label type)."""
    n = len(v)
    hits = []
    if 12 <= n <= 19 and V.luhn_ok(v):
        hits.append("LUHN")
    if n == 9 and V.nl_bsn_ok(v):
        hits.append("BSN")
    if n == 11:
        if V.pl_pesel_ok(v):
            hits.append("PESEL")
        if V.de_taxid_ok(v):
            hits.append("DETAX")
    if n == 15 and V.fr_nir_ok(v):
        hits.append("NIR")
    return hits


# ---------------------------------------------------------------- personal values (stdlib)
FIRST = {"fr_FR": "jean marie pierre camille lucas chloe nicolas julie thomas manon", "de_DE":
         "lukas anna jonas lea felix sophie maximilian laura paul julia", "es_ES":
         "javier lucia carlos maria pablo sofia alejandro paula diego elena", "it_IT":
         "marco giulia luca francesca andrea chiara matteo sara davide alessia", "nl_NL":
         "daan emma sem julia lucas sophie milan tess levi anna", "pl_PL":
         "jakub zuzanna kacper julia szymon maja filip zofia jan hanna", "en_GB":
         "oliver amelia harry isla jack ava george mia noah emily", "en_US":
         "james olivia william emma benjamin ava michael sophia ethan mia"}
LAST = {"fr_FR": "martin bernard dubois thomas robert richard petit durand leroy moreau",
        "de_DE": "mueller schmidt schneider fischer weber meyer wagner becker schulz hoffmann",
        "es_ES": "garcia rodriguez gonzalez fernandez lopez martinez sanchez perez gomez ruiz",
        "it_IT": "rossi russo ferrari esposito bianchi romano colombo ricci marino greco",
        "nl_NL": "dejong jansen devries vandenberg bakker janssen visser smit meijer mulder",
        "pl_PL": "nowak kowalski wisniewski wojcik kowalczyk kaminski lewandowski zielinski",
        "en_GB": "smith jones taylor brown williams wilson johnson davies robinson wright",
        "en_US": "smith johnson williams brown jones garcia miller davis wilson anderson"}
MAILDOM = {"fr_FR": "orange.fr free.fr laposte.net gmail.com sfr.fr", "de_DE":
           "web.de gmx.de t-online.de gmail.com posteo.de", "es_ES":
           "gmail.com hotmail.es yahoo.es telefonica.net outlook.es", "it_IT":
           "libero.it gmail.com virgilio.it tiscali.it alice.it", "nl_NL":
           "ziggo.nl kpnmail.nl gmail.com hotmail.nl xs4all.nl", "pl_PL":
           "wp.pl onet.pl interia.pl gmail.com o2.pl", "en_GB":
           "btinternet.com gmail.com hotmail.co.uk sky.com outlook.com", "en_US":
           "gmail.com yahoo.com outlook.com icloud.com comcast.net"}
FIRST = {k: v.split() for k, v in FIRST.items()}
LAST = {k: v.split() for k, v in LAST.items()}
MAILDOM = {k: v.split() for k, v in MAILDOM.items()}
# Phone formats per locale: 'd' is a random digit, anything else is written as is.
PHONES = {
    "fr_FR": ["+33 6 dd dd dd dd", "+33 7 dd dd dd dd", "06 dd dd dd dd", "07dddddddd",
              "+33 (0)1 dd dd dd dd", "01 dd dd dd dd", "+331dddddddd"],
    "de_DE": ["+49 30 dddddddd", "030 dddddddd", "+49 151 dddddddd", "0151 dddddddd",
              "+49 (0)89 ddddddd", "0221 dddddd", "+4917ddddddddd"],
    "es_ES": ["+34 6dd ddd ddd", "+34 91d ddd ddd", "6dd ddd ddd", "+34 6dd dd dd dd",
              "+346dddddddd", "7dd ddd ddd"],
    "it_IT": ["+39 3dd ddd dddd", "3dd ddd dddd", "+39 06 dddd dddd", "06 dddddddd",
              "+39 02 dddddddd", "02 dddd dddd"],
    "nl_NL": ["+31 6 dddddddd", "06-dddddddd", "020 ddd dddd", "+31 20 ddd dddd",
              "010-ddddddd", "+316dddddddd"],
    "pl_PL": ["+48 5dd ddd ddd", "5dd ddd ddd", "+48 22 ddd dd dd", "22 ddd dd dd",
              "6dd-ddd-ddd", "+487dddddddd"],
    "en_GB": ["+44 20 dddd dddd", "020 dddd dddd", "07ddd dddddd", "+44 7ddd dddddd",
              "0161 ddd dddd", "+44 (0)113 ddd dddd"],
    "en_US": ["(2dd) ddd-dddd", "3dd-ddd-dddd", "+1 4dd-ddd-dddd", "6dd.ddd.dddd",
              "+1 (5dd) ddd-dddd", "7dd-ddd-ddddx123"],
}
IBAN_BBAN = {"DE": "n18", "FR": "n23", "ES": "n20", "IT": "a1n22", "NL": "a4n10", "PL": "n24",
             "GB": "a4n14", "BE": "n12", "AT": "n16"}
IBAN_OF = {"fr_FR": "FR", "de_DE": "DE", "es_ES": "ES", "it_IT": "IT", "nl_NL": "NL",
           "pl_PL": "PL", "en_GB": "GB", "en_US": None}
CARDS = [("4", 16), ("4", 16), ("51", 16), ("52", 16), ("55", 16), ("2221", 16), ("34", 15),
         ("37", 15), ("6011", 16), ("3528", 16), ("3589", 16), ("36", 14), ("4", 13)]
IPV4_PUBLIC_FIRST = [2, 5, 31, 37, 46, 62, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89,
                     90, 91, 92, 93, 94, 95, 109, 151, 176, 178, 185, 188, 193, 194, 195, 212,
                     213, 217]
BELFIORE = ["H501", "F205", "L219", "A794", "G273", "D612", "F839", "L736", "A944", "C351"]
CF_MONTH = "ABCDEHLMPRST"


class StdPii:
    """Valid personal values from the standard library (checked with validators.py)."""

    def __init__(self, r):
        self.r = r

    def digits(self, n):
        return "".join(self.r.choice("0123456789") for _ in range(n))

    def email(self, loc):
        r = self.r
        fi, la, dom = r.choice(FIRST[loc]), r.choice(LAST[loc]), r.choice(MAILDOM[loc])
        x = r.random()
        if x < 0.4:
            local = f"{fi}.{la}"
        elif x < 0.6:
            local = f"{fi[0]}{la}{r.randrange(1, 99)}"
        elif x < 0.75:
            local = f"{fi}_{la}"
        elif x < 0.85:
            local = f"{fi}.{la}+{r.choice(['shop', 'news', 'orders'])}"
        else:
            local = f"{la}.{fi}{r.randrange(1950, 2006)}"
        if r.random() < 0.1:
            local = local.capitalize()
        return f"{local}@{dom}"

    def phone(self, loc):
        return "".join(self.r.choice("0123456789") if c == "d" else c
                       for c in self.r.choice(PHONES[loc]))

    def iban(self, loc):
        r = self.r
        cc = IBAN_OF[loc] or r.choice(["DE", "FR", "GB", "NL", "BE", "AT"])
        spec, bban, i = IBAN_BBAN[cc], "", 0
        while i < len(spec):
            kind, j = spec[i], i + 1
            while j < len(spec) and spec[j].isdigit():
                j += 1
            n = int(spec[i + 1:j])
            bban += (self.digits(n) if kind == "n" else
                     "".join(r.choice(string.ascii_uppercase) for _ in range(n)))
            i = j
        num = "".join(str(int(c, 36)) for c in bban + cc + "00")
        v = f"{cc}{98 - int(num) % 97:02d}{bban}"
        if r.random() < 0.35:
            v = " ".join(v[i:i + 4] for i in range(0, len(v), 4))
        return v

    def card(self, loc):
        r = self.r
        pre, n = r.choice(CARDS)
        body = pre + self.digits(n - len(pre) - 1)
        v = body + V.luhn_digit(body)
        x = r.random()
        if n == 16 and x < 0.25:
            v = " ".join(v[i:i + 4] for i in range(0, 16, 4))
        elif n == 16 and x < 0.4:
            v = "-".join(v[i:i + 4] for i in range(0, 16, 4))
        return v

    def ipv4(self, loc):
        r = self.r
        if r.random() < 0.75:
            return f"{r.choice(IPV4_PUBLIC_FIRST)}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"
        return r.choice([f"10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}",
                         f"172.{r.randrange(16, 32)}.{r.randrange(256)}.{r.randrange(1, 255)}",
                         f"192.168.{r.randrange(256)}.{r.randrange(1, 255)}"])

    def ipv6(self, loc):
        r = self.r
        g = [r.choice(["2a01", "2a02", "2001", "2003", "2a00"])] + ["%x" % r.randrange(1, 65536) for _ in range(7)]
        if r.random() < 0.5:
            return ":".join(g)
        return ":".join(g[:3]) + "::" + ":".join(g[6:])

    def national(self, loc):
        r = self.r
        typ = r.choice(NATIONAL[loc])
        if typ == "FR_NIR":
            dep = r.choice(["%02d" % r.choice([d for d in range(1, 96) if d != 20]), "2A", "2B"])
            body = (r.choice("12") + "%02d" % r.randrange(100) + "%02d" % r.randrange(1, 13) + dep
                    + "%03d" % r.randrange(1, 991) + "%03d" % r.randrange(1, 1000))
            key = 97 - int(body.replace("2A", "19").replace("2B", "18")) % 97
            v = body + "%02d" % key
            if r.random() < 0.3:
                v = f"{v[0]} {v[1:3]} {v[3:5]} {v[5:7]} {v[7:10]} {v[10:13]} {v[13:]}"
        elif typ == "ES_DNI":
            n = r.randrange(10 ** 7, 10 ** 8)
            v = "%08d%s" % (n, "TRWAGMYFPDXBNJZSQVHLCKE"[n % 23])
        elif typ == "ES_NIE":
            p, n = r.randrange(3), r.randrange(10 ** 7)
            v = "%s%07d%s" % ("XYZ"[p], n, "TRWAGMYFPDXBNJZSQVHLCKE"[int("%d%07d" % (p, n)) % 23])
        elif typ == "IT_CF":
            cons = "BCDFGHJKLMNPRSTVZ"
            day = r.randrange(1, 29) + (40 if r.random() < 0.5 else 0)
            s15 = ("".join(r.choice(cons) for _ in range(6)) + "%02d" % r.randrange(100)
                   + r.choice(CF_MONTH) + "%02d" % day + r.choice(BELFIORE))
            v = s15 + V.it_cf_check(s15)
        elif typ == "NL_BSN":
            while True:
                d8 = str(r.randrange(1, 7)) + self.digits(7)
                c = sum(int(c) * w for c, w in zip(d8, range(9, 1, -1))) % 11
                if c < 10:
                    v = d8 + str(c)
                    break
        elif typ == "PL_PESEL":
            y = r.randrange(1940, 2008)
            m = r.randrange(1, 13) + (20 if y >= 2000 else 0)
            body = "%02d%02d%02d%04d" % (y % 100, m, r.randrange(1, 29), r.randrange(10000))
            w = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3]
            v = body + str((10 - sum(int(a) * b for a, b in zip(body, w)) % 10) % 10)
        elif typ == "DE_TAXID":
            while True:  # as gen_corpus.Gen.de_taxid: nine distinct digits, one of them twice
                d = r.sample("0123456789", 9)
                if d[0] == "0":
                    continue
                dup, pos = r.choice(d), r.randrange(1, 10)
                s10 = "".join(d[:pos] + [dup] + d[pos:])
                v = s10 + str(V.de_taxid_check(s10))
                if V.de_taxid_ok(v):
                    break
            if r.random() < 0.25:
                v = f"{v[:2]} {v[2:5]} {v[5:8]} {v[8:]}"
        elif typ == "UK_NINO":
            first = [c for c in string.ascii_uppercase if c not in "DFIQUV"]
            second = [c for c in string.ascii_uppercase if c not in "DFIQUVO"]
            while True:
                p = r.choice(first) + r.choice(second)
                if p not in ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ"):
                    break
            n = "%06d" % r.randrange(1000000)
            s = r.choice("ABCD")
            v = f"{p} {n[:2]} {n[2:4]} {n[4:]} {s}" if r.random() < 0.4 else p + n + s
        else:  # US_SSN
            a = r.choice([x for x in range(1, 900) if x != 666])
            v = "%03d-%02d-%04d" % (a, r.randrange(1, 100), r.randrange(1, 10000))
        return typ, v

    def pii(self, loc, typ):
        if typ == "NATIONAL":
            t, v = self.national(loc)
        else:
            t, v = typ, {"EMAIL": self.email, "PHONE": self.phone, "IBAN": self.iban,
                         "CREDIT_CARD": self.card, "IPV4": self.ipv4, "IPV6": self.ipv6}[typ](loc)
        chk = CHECKERS.get(t)
        assert chk is None or chk(v), (t, v)
        return t, v


class FakerPii:
    """The dense corpus' generators (corpus/gen_corpus.py), for the same distribution."""

    def __init__(self, seed, locales):
        import gen_corpus  # needs Faker
        self.g = gen_corpus.Gen(seed, locales)

    def pii(self, loc, typ):
        return self.g.pii(loc, self.g.fk[loc], typ)


# ---------------------------------------------------------------- quiet material
UAS = ["okhttp/4.12.0", "Go-http-client/2.0", "kube-probe/1.29", "Prometheus/2.51.2",
       "python-requests/2.31.0", "axios/1.6.8", "curl/8.5.0", "ELB-HealthChecker/2.0",
       "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36",
       "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
       "Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0",
       "ShopApp/4.18.2 (Android 14; SM-S918B) okhttp/4.12.0"]
SERVICES = ["orders", "payments", "catalog", "cart", "shipping", "search", "inventory", "notifier",
            "pricing", "gateway"]
STATUS = [200] * 14 + [201, 204, 204, 301, 302, 304, 304, 400, 401, 403, 404, 404, 409, 429, 500, 502, 503]
LEVELS = ["INFO"] * 8 + ["DEBUG", "DEBUG", "WARN", "ERROR"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


class Gen:
    def __init__(self, seed, locales, pii_rate, use_faker):
        self.r = random.Random(seed)                        # quiet lines
        self.pii_src = FakerPii(seed, locales) if use_faker else StdPii(random.Random(seed * 7919 + 17))
        self.locales = locales
        self.pii_rate = pii_rate
        self.t = dt.datetime(2026, 11, 1, 0, 0, 0)
        self.loc = locales[0]
        self.pods = ["%s-%s-%s" % (s, "".join(self.r.choice("0123456789bcdfghjklmnpqrstvwxz") for _ in range(9)),
                                   "".join(self.r.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5)))
                     for s in SERVICES for _ in range(3)]
        self.nodes = ["ip-node-%02d" % i for i in range(1, 9)]

    # ---- helpers
    def tick(self):
        self.t += dt.timedelta(microseconds=self.r.randrange(100, 40000))
        return self.t

    def hex(self, n):
        return "%0*x" % (n, self.r.getrandbits(4 * n))

    def uuid(self):
        h = "%032x" % self.r.getrandbits(128)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"

    def neg(self, typ, v):
        if v.isdigit():
            c = chance(v)
            if c:
                typ += "+" + "+".join(c)
        return (typ, v)

    def num(self, typ, v):
        """A number: labelled when it has 9 digits or more, plain text otherwise."""
        v = str(v)
        return self.neg(typ, v) if len(v) >= 9 else v

    def ms(self):
        return int((self.t - EPOCH0).total_seconds() * 1000)

    def epoch_ms(self):
        return self.neg("NEG_EPOCH", str(self.ms() + self.r.randrange(-5000, 5000)))

    def epoch_s(self):
        return self.neg("NEG_EPOCH", str(self.ms() // 1000 - self.r.randrange(0, 86400 * 30)))

    def order(self):
        r = self.r
        x = r.random()
        if x < 0.45:
            return ("NEG_ORDER", "ORD-%d-%08d" % (r.randrange(2023, 2027), r.randrange(10 ** 8)))
        if x < 0.6:
            return ("NEG_ORDER", "INV-%010d" % r.randrange(10 ** 6, 10 ** 7))
        return self.neg("NEG_ID", str(r.randrange(10 ** 15, 10 ** 16)) if x < 0.85 else str(r.randrange(10 ** 8, 10 ** 9)))

    def big_id(self):
        """Snowflake ids (18-19 digits), Datadog decimal trace ids (uint64), bigint keys."""
        r = self.r
        x = r.random()
        if x < 0.4:
            return self.neg("NEG_ID", str(((self.ms() - 1288834974657) << 22) | r.getrandbits(22)))
        if x < 0.8:
            return self.neg("NEG_ID", str(r.getrandbits(63)))
        return self.neg("NEG_ID", str(r.randrange(10 ** 12, 10 ** 14)))

    def bytes_(self, hi):
        return self.num("NEG_BYTES", self.r.randrange(0, hi))

    def version(self):
        r = self.r
        x = r.random()
        if x < 0.6:
            return ("NEG_VERSION", "%d.%d.%d" % (r.randrange(1, 6), r.randrange(30), r.randrange(60)))
        if x < 0.85:
            return ("NEG_VERSION", "%d.%d.%d.%d" % (r.randrange(1, 30), r.randrange(10),
                                                    r.randrange(300, 9999), r.randrange(1000)))
        return ("NEG_VERSION", "%d.%d.%d-%s" % (r.randrange(1, 6), r.randrange(30), r.randrange(60),
                                                r.choice(["rc.1", "beta.2", "SNAPSHOT", "1+build.%d" % r.randrange(999)])))

    def tracking(self, carrier=None):
        r = self.r
        x = {"UPS": 0.0, "DHL": 0.5, "PostNL": 0.9}.get(carrier, r.random())
        if x < 0.4:  # UPS-like
            return ("NEG_TRACKING", "1Z%s%s%08d" % ("".join(r.choice(string.ascii_uppercase + "0123456789") for _ in range(6)),
                                                  "%02d" % r.randrange(100), r.randrange(10 ** 8)))
        if x < 0.7:  # DHL Express-like, 10 digits
            return self.neg("NEG_TRACKING", "%010d" % r.randrange(10 ** 9, 10 ** 10))
        return ("NEG_TRACKING", "3S%s%07d" % ("".join(r.choice(string.ascii_uppercase) for _ in range(4)), r.randrange(10 ** 7)))

    def dur(self, hi=2.0):
        return "%.3f" % (self.r.expovariate(1 / (hi / 8)) if self.r.random() < 0.97 else self.r.random() * hi * 4)

    def pii(self, typ=None):
        typ = typ or self.r.choice(["EMAIL", "EMAIL", "EMAIL", "PHONE", "PHONE", "IBAN", "CREDIT_CARD",
                                    "NATIONAL", "NATIONAL", "IPV4"])
        return self.pii_src.pii(self.loc, typ)

    # ---- nginx access log (behind the load balancer: no client address)
    def nginx(self, personal):
        r = self.r
        t = self.tick()
        svc = r.choice(SERVICES)
        meth = r.choice(["GET"] * 6 + ["POST", "POST", "PUT", "DELETE", "PATCH"])
        extra = [" xff=\"-\""]   # "$http_x_forwarded_for" after the user agent, as nginx's default log_format
        if personal:
            x = r.random()
            if x < 0.35:
                path = ["/api/v1/users/lookup?email=", self.pii("EMAIL"), "&fields=id,status"]
            elif x < 0.5:
                path = ["/api/v1/newsletter/unsubscribe?e=", self.pii("EMAIL"), "&src=mail"]
            elif x < 0.65:
                path = ["/api/v2/kyc/", self.pii("NATIONAL"), "/status"]
            elif x < 0.75:
                iban = self.pii("IBAN")
                path = ["/api/v1/payouts/validate?iban=", (iban[0], iban[1].replace(" ", ""))]
            else:
                path = [f"/api/v2/orders/{self.hex(8)}/items"]
                extra = [" xff=\"", self.pii(r.choice(["IPV4", "IPV4", "IPV4", "IPV6"])), "\""]
        else:
            x = r.random()
            if x < 0.18:
                path = ["/api/v2/orders/", self.order(), r.choice(["", "/items", "/status", "/invoice.pdf"])]
            elif x < 0.3:
                path = ["/api/v1/users/", ("NEG_UUID", self.uuid()), r.choice(["/preferences", "/cart", "", "/sessions"])]
            elif x < 0.4:
                path, meth = [r.choice(["/healthz", "/readyz", "/metrics", "/livez"])], "GET"
            elif x < 0.5:
                path, meth = [f"/static/js/{r.choice(['main', 'vendor', 'runtime', 'checkout'])}.{self.hex(8)}.chunk.js"], "GET"
            elif x < 0.6:
                path = [f"/api/v1/products?category={r.randrange(1, 400)}&page={r.randrange(1, 40)}&limit={r.choice([20, 50, 100])}&sort=price"]
            elif x < 0.68:
                path = ["/api/v1/events?since=", self.epoch_ms(), f"&limit={r.choice([100, 500])}"]
            elif x < 0.76:
                path = ["/api/v1/sessions/", ("NEG_HEX", self.hex(32)), "/refresh"]
            elif x < 0.84:
                path, meth = [f"/images/products/{r.randrange(1, 999999)}/{r.choice(['320x320', '640x640', '1280x960'])}.webp"], "GET"
            elif x < 0.92:
                path = ["/api/v1/shipments/", self.tracking(), "/events"]
            else:
                path = ["/api/v1/search?q=", r.choice(["usb+c+cable", "running+shoes", "coffee", "lamp", "ssd+1tb"]),
                        f"&page={r.randrange(1, 9)}"]
        st = r.choice(STATUS)
        rt = self.dur(0.6)
        return [f"{t.isoformat(timespec='milliseconds')}+00:00 rid=", ("NEG_HEX", self.hex(32)),
                f" host=api.shop.example \"{meth} ", *path, f" HTTP/{r.choice(['1.1', '2.0'])}\" {st} ",
                self.bytes_(r.choice([900, 9000, 90000, 2000000])), f" rt={rt} urt={rt if r.random() < 0.9 else '-'}"
                f" ups={svc}.shop.svc.cluster.local:8080 cache={r.choice(['HIT', 'MISS', 'MISS', 'BYPASS', '-'])}"
                f" ua=\"{r.choice(UAS)}\"", *extra]

    # ---- JSON application logs
    def app_json(self, personal):
        r = self.r
        t = self.tick()
        svc = r.choice(SERVICES)
        ts = t.isoformat(timespec="milliseconds") + "Z"
        if personal:
            head = [f'{{"@timestamp":"{ts}","level":"INFO","logger":"com.shop.{svc}.CustomerService",'
                    '"trace_id":"', ("NEG_HEX", self.hex(32)), '","span_id":"', ("NEG_HEX", self.hex(16)), '"']
            x = r.random()
            if x < 0.3:
                body = [',"msg":"customer contact updated","customer_id":"', ("NEG_UUID", self.uuid()),
                        '","email":"', self.pii("EMAIL"), '"']
            elif x < 0.5:
                body = [',"msg":"sms notification queued","template":"delivery_eta","phone":"', self.pii("PHONE"), '"']
            elif x < 0.62:
                body = [',"msg":"refund issued","order_id":"', self.order(), '","iban":"', self.pii("IBAN"), '"']
            elif x < 0.74:
                body = [',"msg":"payment method added","card":"', self.pii("CREDIT_CARD"), '","psp":"adyen"']
            elif x < 0.9:
                body = [',"msg":"identity document verified","national_id":"', self.pii("NATIONAL"), '"']
            else:
                body = [',"msg":"login","user_id":"', ("NEG_UUID", self.uuid()), '","client_ip":"',
                        self.pii(r.choice(["IPV4", "IPV4", "IPV6"])), '"']
            return head + body + [f',"duration_ms":{self.dur(80)}}}']
        x = r.random()
        if x < 0.35:  # logback JSON encoder
            lvl = r.choice(LEVELS)
            msgs = [
                ['"order state changed","order_id":"', self.order(), f'","from":"PAID","to":"{r.choice(["PICKED", "SHIPPED", "DELIVERED"])}"'],
                ['"cache refresh","key":"catalog:', ("NEG_HEX", self.hex(40)), f'","entries":{r.randrange(1, 90000)}'],
                ['"inventory reserved","sku":"SKU-', str(r.randrange(10000, 99999)), f'","qty":{r.randrange(1, 9)},"warehouse":"WH-{r.randrange(1, 12):02d}"'],
                ['"http client call","url":"http://pricing.shop.svc.cluster.local:8080/v1/prices/', str(r.randrange(1, 999999)),
                 f'","status":{r.choice(STATUS)},"attempt":{r.randrange(1, 4)}'],
            ]
            return [f'{{"@timestamp":"{ts}","level":"{lvl}","logger":"com.shop.{svc}.{r.choice(["OrderService", "Worker", "Api", "Repository"])}",'
                    f'"thread":"http-nio-8080-exec-{r.randrange(1, 200)}","trace_id":"', ("NEG_HEX", self.hex(32)),
                    '","span_id":"', ("NEG_HEX", self.hex(16)), '","msg":', *r.choice(msgs),
                    f',"duration_ms":{self.dur(120)}}}']
        if x < 0.55:  # Go zap
            return [f'{{"level":"{r.choice(["info", "info", "debug", "warn"])}","ts":{self.ms() / 1000:.6f},'
                    f'"caller":"{r.choice(["worker/pool.go", "http/server.go", "store/pg.go", "queue/consumer.go"])}:{r.randrange(20, 900)}",'
                    f'"msg":"{r.choice(["job done", "request served", "batch flushed", "lease renewed"])}","job_id":"', ("NEG_UUID", self.uuid()),
                    f'","attempt":{r.randrange(1, 4)},"elapsed":"{self.dur(40)}ms","queue":"{r.choice(SERVICES)}.v1",'
                    '"bytes":', self.bytes_(r.choice([9000, 900000, 3000000000])), "}"]
        if x < 0.7:  # Node pino
            return [f'{{"level":{r.choice([30, 30, 30, 20, 40])},"time":', self.epoch_ms(), f',"pid":{r.randrange(1, 400)},'
                    f'"hostname":"{r.choice(self.pods)}","reqId":"req-{r.randrange(1, 99999):x}","msg":"request completed",'
                    f'"res":{{"statusCode":{r.choice(STATUS)}}},"responseTime":{self.dur(300)}}}']
        if x < 0.82:  # Datadog-correlated logs: decimal 64-bit trace and span ids
            return [f'{{"timestamp":"{ts}","status":"{r.choice(["info", "info", "warn"])}","service":"{svc}",'
                    f'"message":"{r.choice(["GET /api/v1/products 200", "consumed order event", "price computed", "stock synced"])}",'
                    '"dd":{"trace_id":"', self.big_id(), '","span_id":"', self.neg("NEG_ID", str(r.getrandbits(63))),
                    f'","env":"prod","version":"', self.version(), '"}}']
        if x < 0.92:  # Kafka consumer
            return [f'{{"@timestamp":"{ts}","level":"INFO","logger":"o.a.k.c.c.KafkaConsumer","msg":"committed offsets",'
                    f'"topic":"{r.choice(SERVICES)}.events.v1","partition":{r.randrange(0, 24)},"offset":',
                    self.num("NEG_ID", r.randrange(10 ** 6, 10 ** 12)), f',"lag":{r.randrange(0, 400)},"group":"{svc}-consumer"}}']
        if x < 0.96:  # startup
            return [f'{{"@timestamp":"{ts}","level":"INFO","service":"{svc}","msg":"service started","version":"', self.version(),
                    '","git_sha":"', ("NEG_HEX", self.hex(40)), '","build_time":', self.epoch_s(), f',"port":8080}}']
        # .NET exception: assembly references are dotted quads
        av = "%d.0.0.0" % r.choice([4, 6, 7, 8])
        return [f'{{"Timestamp":"{ts}","Level":"Warning","MessageTemplate":"Retrying {{Operation}}","Operation":"GetPrice",'
                '"Exception":"System.TimeoutException: The operation has timed out. at Shop.Pricing.Client.GetAsync() '
                'in System.Private.CoreLib, Version=', ("NEG_VERSION", av), ', Culture=neutral, PublicKeyToken=',
                ("NEG_HEX", "7cec85d7bea7798e"), f'","Elapsed":{self.dur(5000)}}}']

    # ---- Kubernetes node journal (syslog format)
    def syslog(self, personal):
        r = self.r
        t = self.tick()
        head = f"{MONTHS[t.month - 1]} {t.day:2d} {t:%H:%M:%S} {r.choice(self.nodes)} "
        if personal:
            x = r.random()
            pid = r.randrange(200, 65000)
            if x < 0.35:
                return [head, f"notifier[{pid}]: password reset mail sent to ", self.pii("EMAIL"),
                        " msgid=", ("NEG_HEX", self.hex(24))]
            if x < 0.55:
                return [head, f"crm-sync[{pid}]: callback requested, tel ", self.pii("PHONE"), " ticket ", self.order()]
            if x < 0.75:
                return [head, f"kyc-worker[{pid}]: document accepted id=", self.pii("NATIONAL"), " build ", self.version()]
            if x < 0.85:
                return [head, f"billing[{pid}]: mandate created iban=", self.pii("IBAN")]
            return [head, f"sshd[{pid}]: Accepted publickey for deploy from ", self.pii("IPV4"),
                    f" port {r.randrange(1024, 65535)} ssh2: ED25519 SHA256:{self.hex(16)}"]
        x = r.random()
        kpid = 2100 + r.randrange(90)
        if x < 0.28:
            pod = r.choice(self.pods)
            kind = r.random()
            if kind < 0.5:
                return [head, f"kubelet[{kpid}]: I{t:%m%d %H:%M:%S}.{t.microsecond:06d}    {kpid} kubelet.go:2412] "
                        f"\"SyncLoop (PLEG): event for pod\" pod=\"shop/{pod}\" event={{\"ID\":\"", ("NEG_UUID", self.uuid()),
                        f"\",\"Type\":\"{r.choice(['ContainerStarted', 'ContainerDied'])}\",\"Data\":\"", ("NEG_HEX", self.hex(64)), "\"}"]
            if kind < 0.8:
                return [head, f"kubelet[{kpid}]: I{t:%m%d %H:%M:%S}.{t.microsecond:06d}    {kpid} prober.go:107] "
                        f"\"Probe failed\" probeType=\"Readiness\" pod=\"shop/{pod}\" podUID=\"", ("NEG_UUID", self.uuid()),
                        f"\" containerName=\"app\" probeResult=\"failure\" output=\"Get \\\"http://{pod}:8080/readyz\\\": "
                        "context deadline exceeded (Client.Timeout exceeded while awaiting headers)\""]
            return [head, f"kubelet[{kpid}]: I{t:%m%d %H:%M:%S}.{t.microsecond:06d}    {kpid} pod_startup_latency_tracker.go:102] "
                    f"\"Observed pod startup duration\" pod=\"shop/{pod}\" podStartSLOduration={self.dur(20)} "
                    f"podStartE2EDuration=\"{self.dur(30)}s\""]
        if x < 0.45:
            cid = self.hex(64)
            return [head, f"containerd[812]: time=\"{t.isoformat()}Z\" level=info msg=\"StartContainer for \\\"",
                    ("NEG_HEX", cid), "\\\" returns successfully\""]
        if x < 0.58:
            cid = self.hex(64)
            return [head, "systemd[1]: Started cri-containerd-", ("NEG_HEX", cid), ".scope - libcontainer container ",
                    ("NEG_HEX", cid), "."]
        if x < 0.71:  # journald (next) warns once per journal file: rare
            return [head, f"systemd[1]: {r.choice(['logrotate', 'apt-daily', 'fstrim', 'man-db', 'sysstat-collect'])}.service: "
                    f"Consumed {self.dur(4)}s CPU time, {r.randrange(1, 900)}.{r.randrange(10)}M memory peak."]
        if x < 0.72:
            n = r.randrange(100000, 240000)
            return [head, f"systemd-journald[345]: Data hash table of /var/log/journal/", ("NEG_HEX", self.hex(32)),
                    f"/system.journal has a fill level at 75.{r.randrange(10)} ({n} of {n * 4 // 3} items, ",
                    self.num("NEG_BYTES", 8388608 * r.randrange(1, 65)),
                    " file size, 767 bytes per item), suggesting rotation."]
        if x < 0.78:
            return [head, f"CRON[{r.randrange(1000, 65000)}]: (root) CMD (/usr/local/bin/backup.sh --since ", self.epoch_s(),
                    " >/dev/null 2>&1)"]
        if x < 0.84:
            return [head, f"kernel: [{r.randrange(1, 9999999)}.{r.randrange(1000000):06d}] "
                    f"{r.choice(['EXT4-fs (nvme0n1p1): re-mounted. Quota mode: none.', 'cni0: port 3(veth' + self.hex(8) + ') entered forwarding state', 'TCP: request_sock_TCP: Possible SYN flooding on port 8080. Sending cookies.'])}"]
        # application stdout captured by the journal
        svc = r.choice(SERVICES)
        return [head, f"{svc}[{r.randrange(200, 65000)}]: {t:%Y-%m-%d %H:%M:%S},{t.microsecond // 1000:03d} "
                f"{r.choice(LEVELS):5s} [worker-{r.randrange(1, 16)}] c.s.{svc[0]}.Dispatcher - dispatched batch ",
                self.num("NEG_ID", r.randrange(10 ** 6, 10 ** 10)), f" ({r.randrange(1, 1024)} msgs) in {r.randrange(1, 900)} ms"]

    # ---- PostgreSQL
    def sql(self, personal):
        r = self.r
        t = self.tick()
        head = f"{t:%Y-%m-%d %H:%M:%S}.{t.microsecond // 1000:03d} UTC [{r.randrange(100, 99999)}] "
        if personal:
            x = r.random()
            stmt = f"{head}app@shop LOG:  duration: {self.dur(20)} ms  statement: "
            if x < 0.35:
                return [stmt, "INSERT INTO customers (id, email, created_at) VALUES ('", ("NEG_UUID", self.uuid()), "', '",
                        self.pii("EMAIL"), f"', '{t.isoformat()}');"]
            if x < 0.55:
                return [stmt, "UPDATE customers SET phone = '", self.pii("PHONE"), "' WHERE id = ", self.big_id(), ";"]
            if x < 0.7:
                return [stmt, "UPDATE payout_accounts SET iban = '", self.pii("IBAN"), "' WHERE id = ", self.big_id(), ";"]
            if x < 0.8:
                return [stmt, "UPDATE payment_methods SET pan = '", self.pii("CREDIT_CARD"), "' WHERE id = ", self.big_id(), ";"]
            return [stmt, "UPDATE customers SET national_id = '", self.pii("NATIONAL"), "' WHERE id = ", self.big_id(), ";"]
        x = r.random()
        if x < 0.4:
            stmt = f"{head}app@shop LOG:  duration: {self.dur(20)} ms  statement: "
            k = r.random()
            if k < 0.3:
                return [stmt, "SELECT id, status, total_cents FROM orders WHERE id = ", self.big_id(), ";"]
            if k < 0.55:
                return [stmt, "INSERT INTO events (id, aggregate_id, type, payload_size, created_ms) VALUES ('",
                        ("NEG_UUID", self.uuid()), "', '", ("NEG_UUID", self.uuid()),
                        f"', '{r.choice(['OrderPaid', 'OrderShipped', 'StockReserved', 'CartAbandoned'])}', {r.randrange(80, 9000)}, ",
                        self.epoch_ms(), ");"]
            if k < 0.75:
                return [stmt, "UPDATE shipments SET status = 'DELIVERED', delivered_at = to_timestamp(", self.epoch_s(),
                        ") WHERE tracking_no = '", self.tracking(), "';"]
            return [stmt, "SELECT * FROM order_items WHERE order_ref = '", self.order(), f"' LIMIT {r.choice([50, 100, 500])};"]
        if x < 0.6:
            return [f"{head}app@shop LOG:  duration: {self.dur(30)} ms  execute <unnamed>: SELECT p.id, p.sku, p.price_cents "
                    "FROM products p WHERE p.category_id = $1 AND p.updated_at > $2 ORDER BY p.id LIMIT $3   "
                    f"DETAIL:  parameters: $1 = '{r.randrange(1, 400)}', $2 = '{t:%Y-%m-%d %H:%M:%S}', $3 = '{r.choice([50, 100])}'"]
        if x < 0.7:
            w = r.randrange(100, 60000)
            return [f"{head}LOG:  checkpoint complete: wrote {w} buffers ({w / 1638.4:.1f}%); 0 WAL file(s) added, 0 removed, "
                    f"{r.randrange(0, 9)} recycled; write={self.dur(270)} s, sync={self.dur(0.1)} s, total={self.dur(270)} s; "
                    f"sync files={r.randrange(1, 300)}, longest={self.dur(0.05)} s, average={self.dur(0.01)} s; "
                    f"distance={r.randrange(1000, 900000)} kB, estimate={r.randrange(1000, 900000)} kB; "
                    f"lsn={r.randrange(1, 255):X}/{self.hex(8).upper()}, redo lsn={r.randrange(1, 255):X}/{self.hex(8).upper()}"]
        if x < 0.8:
            return [f"{head}LOG:  automatic vacuum of table \"shop.public.{r.choice(['orders', 'order_items', 'events', 'sessions'])}\": "
                    f"index scans: {r.randrange(0, 3)}, pages: 0 removed, {r.randrange(1000, 9999999)} remain, "
                    f"tuples: {r.randrange(0, 99999)} removed, ", self.num("NEG_ID", r.randrange(10 ** 5, 10 ** 10)),
                    f" remain, avg read rate: {self.dur(40)} MB/s, avg write rate: {self.dur(20)} MB/s, "
                    f"system usage: CPU: user: {self.dur(2)} s, system: {self.dur(1)} s, elapsed: {self.dur(10)} s"]
        if x < 0.88:
            return [f"{head}app@shop LOG:  temporary file: path \"base/pgsql_tmp/pgsql_tmp{r.randrange(100, 99999)}.{r.randrange(0, 9)}\", size ",
                    self.bytes_(r.choice([10 ** 8, 10 ** 9, 4 * 10 ** 9]))]
        if x < 0.95:
            return [f"{head}LOG:  connection authorized: user={r.choice(SERVICES)} database=shop "
                    f"application_name={r.choice(SERVICES)}-svc SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)"]
        return [f"{head}app@shop ERROR:  duplicate key value violates unique constraint \"orders_pkey\"  DETAIL:  Key (id)=(",
                self.big_id(), ") already exists."]

    # ---- CSV export of shipments
    def csv(self, personal):
        r = self.r
        t = self.tick()
        note = ""
        if personal:
            x = r.random()
            if x < 0.5:
                note = ["\"customer asked for delivery notice at ", self.pii("EMAIL"), "\""]
            elif x < 0.85:
                note = ["\"call before delivery: ", self.pii("PHONE"), "\""]
            else:
                note = ["\"COD refund to ", self.pii("IBAN"), "\""]
        else:
            note = [r.choice(["", "", "", "", "\"leave at door\"", "\"fragile\"", "\"reship of \"", "\"gift\""])]
            if note[0] == "\"reship of \"":
                note = ["\"reship of ", self.order(), "\""]
        carrier = r.choice(["UPS", "DHL", "PostNL"])
        return [f"{t.isoformat(timespec='seconds')}Z,", self.order(), ",", ("NEG_UUID", self.uuid()),
                f",SKU-{r.randrange(10000, 99999)},{r.randrange(1, 9)},{r.randrange(50, 30000)},{r.randrange(199, 99999)},EUR,"
                f"{carrier},", self.tracking(carrier),
                f",WH-{r.randrange(1, 12):02d},{r.choice(['SHIPPED', 'DELIVERED', 'IN_TRANSIT', 'RETURNED'])},", *note]


CSV_HEADER = "shipped_at,order_no,shipment_id,sku,qty,weight_g,amount_cents,currency,carrier,tracking_no,warehouse,status,note"
FORMATS = [("nginx.log", "nginx", 0.30), ("app.json.log", "app_json", 0.30), ("syslog.log", "syslog", 0.20),
           ("sql.log", "sql", 0.12), ("export.csv", "csv", 0.08)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--size-mb", type=float, default=5.0, help="total bytes of log text (MiB)")
    ap.add_argument("--locales", default=",".join(ALL_LOCALES))
    ap.add_argument("--pii-rate", type=float, default=0.01, help="share of lines with a personal value")
    ap.add_argument("--faker", action="store_true", help="personal values from corpus/gen_corpus.py (needs Faker)")
    ap.add_argument("--out", required=True, help="output directory")
    a = ap.parse_args()
    locales = [x.strip() for x in a.locales.split(",") if x.strip()]
    for loc in locales:
        if loc not in ALL_LOCALES:
            ap.error(f"unsupported locale {loc}")
    os.makedirs(a.out, exist_ok=True)
    g = Gen(a.seed, locales, a.pii_rate, a.faker)
    target = int(a.size_mb * 1024 * 1024)
    outs, sizes, lines = {}, {}, {}
    for name, _, _ in FORMATS:
        outs[name] = open(os.path.join(a.out, name), "wb")
        sizes[name] = lines[name] = 0
    hb = (CSV_HEADER + "\n").encode()
    outs["export.csv"].write(hb)
    sizes["export.csv"] = len(hb)
    lines["export.csv"] = 1
    labf = open(os.path.join(a.out, "labels.jsonl"), "w")
    counts, pii_lines = {}, 0
    total = len(hb)
    names = [x[0] for x in FORMATS]
    builders = {x[0]: getattr(g, x[1]) for x in FORMATS}
    weights = [x[2] for x in FORMATS]
    r = g.r
    while total < target:
        name = r.choices(names, weights)[0]
        g.loc = loc = r.choice(locales)
        personal = r.random() < a.pii_rate
        parts = builders[name](personal)
        buf = bytearray()
        lineno = lines[name] + 1
        base = sizes[name]
        has_pos = False
        for p in parts:
            if isinstance(p, tuple):
                typ, val = p
                b = val.encode()
                s = len(buf)
                neg = typ.startswith("NEG_")
                has_pos |= not neg
                labf.write(json.dumps({"file": name, "line": lineno, "start": s, "end": s + len(b),
                                       "abs_start": base + s, "abs_end": base + s + len(b), "type": typ,
                                       "value": val, "locale": loc, "neg": neg}, ensure_ascii=False) + "\n")
                counts[typ] = counts.get(typ, 0) + 1
                buf += b
            else:
                buf += p.encode()
        assert b"\n" not in buf
        assert has_pos == personal, parts
        pii_lines += personal
        buf += b"\n"
        outs[name].write(buf)
        sizes[name] += len(buf)
        lines[name] = lineno
        total += len(buf)
    for o in outs.values():
        o.close()
    labf.close()
    fv = None
    if a.faker:
        import faker
        fv = faker.VERSION
    man = {"seed": a.seed, "size_mb": a.size_mb, "locales": locales, "faker_version": fv,
           "python": sys.version.split()[0], "generator": "gen_quiet.py",
           "pii_values": "faker (corpus/gen_corpus.py)" if a.faker else "stdlib",
           "pii_rate": a.pii_rate, "pii_lines": pii_lines, "bytes": sizes, "lines": lines,
           "total_bytes": total, "total_lines": sum(lines.values()), "label_counts": dict(sorted(counts.items()))}
    with open(os.path.join(a.out, "manifest.json"), "w") as mf:
        json.dump(man, mf, indent=1)
    print(json.dumps(man, indent=1))


if __name__ == "__main__":
    main()
