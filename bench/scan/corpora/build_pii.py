#!/usr/bin/env python3
"""Build pii.jsonl: the Presidio-evaluator style synthetic PII corpus.

Source: Microsoft's `presidio-evaluator` 0.3.2 (PyPI, MIT licence). We take its
sentence templates (`data_generator/raw_data/templates.txt`, 209 templates written by
the Presidio team) and its value lists (organisations, nationalities, US driver
licence formats), and re-implement its generator (`PresidioSentenceFaker`, which
fills `{{placeholder}}`s with Faker values and records the spans) in a few lines of
code driving Faker directly. Differences from upstream, all deliberate:

- several Faker locales (names, addresses, phones, IBANs), not only en_US, and the
  values are drawn here rather than from upstream's FakeNameGenerator.com CSV;
- entity names are mapped to covault's (Presidio's) names: GPE -> LOCATION,
  DOMAIN_NAME -> URL; TITLE (prefixes, jobs) and ZIP_CODE are kept as labels that
  eval.py ignores (neither credit nor penalty);
- consecutive address parts ({{building_number}} {{street_name}} ... {{postcode}},
  including a city/state/country inside the block) are merged into one
  STREET_ADDRESS span, the same way upstream labels a whole {{address}} value;
- the literal `\\n` in templates becomes a newline, and upstream's `<`/`>` ->
  `{{`/`}}` rewrite (which mangles the "> quoted" templates) is not applied.

Usage: python build_pii.py [--n 3000] [--seed 42]   (needs `faker`, pinned in
bench/scan/requirements.txt; run it with the bench venv's python).
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import re
import unicodedata
from datetime import date, datetime
from pathlib import Path

import yaml
from faker import Faker

from _common import fixed_hashseed, HERE, check_spans, pip_fetch, read_member, write_jsonl

PE_VERSION = "0.3.2"

LOCALES = [  # (locale, weight)
    ("en_US", 35), ("en_GB", 10), ("en_IN", 8), ("de_DE", 10), ("fr_FR", 9),
    ("es_ES", 8), ("it_IT", 8), ("nl_NL", 7), ("pl_PL", 5),
]
IBAN_LOCALES = ["de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "en_GB", "pl_PL"]

# PresidioSentenceFaker.ENTITY_TYPE_MAPPING, with GPE -> LOCATION, DOMAIN_NAME -> URL.
TYPE = {
    "person": "PERSON", "name": "PERSON", "name_male": "PERSON", "name_female": "PERSON",
    "first_name": "PERSON", "first_name_male": "PERSON", "first_name_female": "PERSON",
    "first_name_nonbinary": "PERSON", "last_name": "PERSON", "last_name_male": "PERSON",
    "last_name_female": "PERSON",
    "prefix": "TITLE", "prefix_male": "TITLE", "prefix_female": "TITLE", "job": "TITLE",
    "address": "STREET_ADDRESS", "street_name": "STREET_ADDRESS", "building_number": "STREET_ADDRESS",
    "secondary_address": "STREET_ADDRESS", "postcode": "STREET_ADDRESS",
    "country": "LOCATION", "state": "LOCATION", "state_abbr": "LOCATION", "city": "LOCATION",
    "zipcode": "ZIP_CODE",
    "credit_card_number": "CREDIT_CARD", "iban": "IBAN_CODE", "phone_number": "PHONE_NUMBER",
    "url": "URL", "ssn": "US_SSN", "email": "EMAIL_ADDRESS", "ip_address": "IP_ADDRESS",
    "date_time": "DATE_TIME", "date_of_birth": "DATE_TIME", "day_of_week": "DATE_TIME", "year": "DATE_TIME",
    "nationality": "NRP", "nation_woman": "NRP", "nation_man": "NRP", "nation_plural": "NRP",
    "organization": "ORGANIZATION", "us_driver_license": "US_DRIVER_LICENSE", "age": "AGE",
}
ADDRESS_CORE = {"building_number", "street_name", "secondary_address"}
ADDRESS_PART = ADDRESS_CORE | {"postcode", "zipcode", "city", "state", "state_abbr", "country"}

# presidio_evaluator.data_generator.faker_extensions.providers.PhoneNumberProviderNew.formats
PRESIDIO_PHONE_FORMATS = [
    "##########", "###-###-####", "###-#######", "07700 ### ###", "07700 ######", "07700######",
    "(07700) ### ###", "(07700) ######", "+447700 ### ###", "+447700 ######", "+447700######",
    "+91##########", "0##########", "+41 2# ### ## ##", "+41 4# ### ## ##", "+41 7# ### ## ##",
    "+41 (0)2# ### ## ##", "+41 (0)7# ### ## ##", "+46 (0)8 ### ### ##", "+46 (0)## ## ## ##",
    "+46 (0)### ### ##", "(###)###-####", "###.###.####", "###-###-####x###", "###-###-####x####",
    "(###)###-####x###", "###.###.####x####", "+1-###-###-####", "001-###-###-####", "+1-###-###-####x###",
]
# AddressProviderNew.address_formats (weights as upstream)
PRESIDIO_ADDRESS_FORMATS = [
    ("{{building_number}} {{street_name}} {{secondary_address}} {{city}} {{state}}", 5),
    ("{{building_number}} {{street_name}} {{secondary_address}} {{city}} {{state_abbr}}", 5),
    ("{{building_number}} {{street_name}} {{secondary_address}} {{city}} {{country}}", 5),
    ("{{building_number}} {{street_name}}\n {{secondary_address}}\n {{city}}\n {{country}}", 5),
    ("{{building_number}} {{street_name}}\n {{secondary_address}}\n {{city}}\n {{country}} {{postcode}}", 5),
    ("{{street_address}}, {{city}}, {{country}}", 5),
    ("{{street_address}} {{secondary_address}}, {{city}}, {{country}} {{postcode}}", 5),
    ("{{street_address}}\n{{city}}, {{state_abbr}} {{postcode}}", 25),
    ("{{street_address}}\n{{city}}\n, {{state_abbr}}\n {{postcode}}", 25),
    ("{{street_address}}\n{{city}}\n, {{state_abbr}}\n {{country}} {{postcode}}", 25),
    ("{{military_apo}}\nAPO {{military_state}} {{postcode}}", 1),
    ("{{military_ship}} {{last_name}}\nFPO {{military_state}} {{postcode}}", 1),
    ("{{military_dpo}}\nDPO {{military_state}} {{postcode}}", 1),
]
# AgeProvider.formats
AGE_FORMATS = [("%#", 80), ("%", 10), ("1.%", 2), ("2.%", 2), ("100", 2), ("101", 1), ("104", 1), ("0.%", 2)]
DATE_FORMATS = ["%B %d, %Y", "%d/%m/%Y", "%m/%d/%Y", "%Y-%m-%d", "%d %B %Y", "%b %d %Y", "%d.%m.%Y", "%-d %b %Y"]
DATETIME_FORMATS = ["%Y-%m-%d %H:%M", "%B %d, %Y at %I:%M %p", "%d/%m/%Y %H:%M", "%A, %B %d, %Y", "%B %Y",
                    "%Y-%m-%dT%H:%M:%S", "%d %B %Y, %H:%M"]

TOKEN = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def weighted(rng: random.Random, items):
    vals, weights = zip(*items)
    return rng.choices(vals, weights=weights, k=1)[0]


def ascii_fold(s: str) -> str:
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower()


class Gen:
    def __init__(self, seed: int):
        wheel = pip_fetch("presidio-evaluator", PE_VERSION)
        raw = lambda n: read_member(wheel, f"raw_data/{n}").decode("utf-8-sig")
        self.templates = [
            line.strip().replace("\\n", "\n").replace("\\,", ",").replace("\ufffd", "\u2014")
            for line in raw("templates.txt").splitlines() if line.strip()
        ]
        # upstream's list has ~100 names with U+FFFD (mojibake); leave those out
        self.orgs = [r["organization"] for r in csv.DictReader(io.StringIO(raw("companies_and_organizations.csv")), delimiter="\t")
                     if "\ufffd" not in r["organization"]]
        self.nat = list(csv.DictReader(io.StringIO(raw("nationalities.csv"))))
        dl = yaml.safe_load(raw("us_driver_license_format.yaml"))
        self.dl_formats = dl["en"]["faker"]["driving_license"]["usa"]
        self.rng = random.Random(seed)
        self.fakers = {}
        for i, (loc, _) in enumerate(LOCALES):
            f = Faker(loc)
            f.seed_instance(seed * 1000 + i)
            self.fakers[loc] = f
        self.us = self.fakers["en_US"]

    # -- values ----------------------------------------------------------------
    def _try(self, f, meth):
        try:
            v = str(getattr(f, meth)())
        except AttributeError:
            v = ""
        return v if v.strip() else str(getattr(self.us, meth)())

    def new_person(self, f, gender=None):
        r = self.rng
        gender = gender or r.choice(["male", "female"])
        first = getattr(f, f"first_name_{gender}")()
        last = f.last_name()
        if r.random() > 0.2:
            full = f"{first} {last}"
        else:
            full = f"{first} {r.choice('ABCDEFGHJKLMNPRSTW')}{r.choice([' ', '. '])}{last}"
        return {"gender": gender, "first": first, "last": last, "full": full,
                "prefix": self._try(f, f"prefix_{gender}")}

    def value(self, ph: str, ctx: dict) -> str:
        r, f, us = self.rng, ctx["faker"], self.us
        rec = ctx["record"]
        used = ctx["used"]

        def from_record(key, fresh):
            if key not in used:
                used.add(key)
                return rec[key]
            return fresh()

        if ph in ("person", "name"):
            return from_record("full", lambda: self.new_person(f)["full"])
        if ph in ("name_male", "name_female"):
            g = ph.split("_")[1]
            return self.new_person(f, g)["full"] if rec["gender"] != g or "full" in used else from_record("full", None)
        if ph in ("first_name", "first_name_male", "first_name_female", "first_name_nonbinary"):
            if ph == "first_name" or ph.endswith(rec["gender"]):
                return from_record("first", lambda: f.first_name())
            return self._try(f, ph)
        if ph in ("last_name", "last_name_male", "last_name_female"):
            return from_record("last", lambda: f.last_name())
        if ph in ("prefix", "prefix_male", "prefix_female"):
            return self._try(f, ph if ph != "prefix" else f"prefix_{rec['gender']}")
        if ph == "job":
            return self._try(f, "job")
        if ph == "credit_card_number":
            n = us.credit_card_number()
            if len(n) == 16 and r.random() < 0.3:
                sep = r.choice([" ", "-"])
                n = sep.join(n[i:i + 4] for i in range(0, 16, 4))
            return n
        if ph == "iban":
            loc = ctx["locale"] if ctx["locale"] in IBAN_LOCALES else r.choice(IBAN_LOCALES)
            v = self.fakers[loc].iban()
            if r.random() < 0.25:
                v = " ".join(v[i:i + 4] for i in range(0, len(v), 4))
            return v
        if ph == "phone_number":
            if r.random() < 0.5:
                return "".join(str(r.randrange(10)) if c == "#" else c for c in r.choice(PRESIDIO_PHONE_FORMATS))
            return f.phone_number()
        if ph == "address":
            if ctx["locale"] == "en_US":
                fmt = weighted(r, PRESIDIO_ADDRESS_FORMATS)
                return TOKEN.sub(lambda m: self._try(us, m.group(1)), fmt)
            return f.address()
        if ph in ("country", "city", "street_name", "building_number", "postcode"):
            return self._try(f, ph)
        if ph == "secondary_address":
            return us.secondary_address()
        if ph == "state":
            for m in ("state", "administrative_unit", "region", "county"):
                if hasattr(f, m):
                    return str(getattr(f, m)())
            return us.state()
        if ph == "state_abbr":
            return us.state_abbr()
        if ph == "zipcode":
            return us.zipcode() if ctx["locale"] == "en_US" else f.postcode()
        if ph == "email":
            def fresh():
                return f.email()
            if "email" not in used and r.random() < 0.6:
                used.add("email")
                user = ascii_fold(rec["first"]) + r.choice([".", "_", ""]) + ascii_fold(rec["last"])
                user = re.sub(r"[^a-z0-9._]", "", user) + (str(r.randrange(100)) if r.random() < 0.3 else "")
                return f"{user}@{f.free_email_domain()}"
            return fresh()
        if ph == "ip_address":
            return us.ipv4() if r.random() < 0.8 else us.ipv6()
        if ph == "date_of_birth":
            return f.date_of_birth(minimum_age=1, maximum_age=95).strftime(r.choice(DATE_FORMATS))
        if ph == "date_time":
            d = us.date_time_between(start_date=datetime(1990, 1, 1), end_date=datetime(2030, 12, 31))
            return d.strftime(r.choice(DATETIME_FORMATS + DATE_FORMATS))
        if ph == "day_of_week":
            return us.day_of_week()
        if ph == "year":
            return str(r.randint(1900, 2030))
        if ph == "url":
            return us.url() if r.random() < 0.6 else f"{us.url()}{us.uri_path()}"
        if ph == "organization":
            return r.choice(self.orgs)
        if ph == "ssn":
            return us.ssn()
        if ph == "us_driver_license":
            st = r.choice(sorted(self.dl_formats))
            return us.bothify(r.choice(self.dl_formats[st]))
        if ph in ("nationality", "nation_woman", "nation_man", "nation_plural"):
            col = {"nationality": "nationality", "nation_woman": "woman", "nation_man": "man", "nation_plural": "plural"}[ph]
            return r.choice(self.nat)[col].title()
        if ph == "age":
            return us.numerify(weighted(r, AGE_FORMATS))
        raise KeyError(ph)

    # -- one sentence --------------------------------------------------------
    def sample(self, idx: int) -> dict:
        r = self.rng
        tid = r.randrange(len(self.templates))
        template = self.templates[tid]
        template = TOKEN.sub(lambda m: "{{" + m.group(1).lower() + "}}", template)
        locale = weighted(r, LOCALES)
        f = self.fakers[locale]
        ctx = {"faker": f, "locale": locale, "used": set()}
        ctx["record"] = self.new_person(f)
        out, spans, pos = [], [], 0
        for m in TOKEN.finditer(template):
            out.append(template[pos:m.start()])
            start = sum(len(s) for s in out)
            ph = m.group(1)
            v = self.value(ph, ctx).strip()
            out.append(v)
            spans.append([start, start + len(v), ph])
            pos = m.end()
        out.append(template[pos:])
        text = "".join(out)
        spans = merge_addresses(text, spans)
        if r.random() < 0.05 and len(text.lower()) == len(text):  # upstream lower_case_ratio=0.05
            text = text.lower()
        final = [{"start": s, "end": e, "type": TYPE[k]} for s, e, k in spans if e > s]
        return {"id": f"pii-{idx:05d}", "text": text, "spans": final, "locale": locale,
                "template_id": tid, "source": f"presidio-evaluator-{PE_VERSION}-templates"}


def merge_addresses(text, spans):
    """Merge runs of address parts separated only by whitespace/commas/quote marks."""
    out, i = [], 0
    spans = sorted(spans)
    while i < len(spans):
        j = i
        while (j + 1 < len(spans) and spans[j][2] in ADDRESS_PART and spans[j + 1][2] in ADDRESS_PART
               and re.fullmatch(r"[\s,>?]*", text[spans[j][1]:spans[j + 1][0]])):
            j += 1
        run = spans[i:j + 1]
        if j > i and any(k in ADDRESS_CORE for _, _, k in run):
            out.append([run[0][0], run[-1][1], "address"])
        else:
            out.extend(run)
        i = j + 1
    return out


def main():
    fixed_hashseed()
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", type=Path, default=HERE / "pii.jsonl")
    a = ap.parse_args()
    random.seed(a.seed)  # some Faker providers (es_ES nif/nie, ...) use the global random
    g = Gen(a.seed)
    recs = [g.sample(i) for i in range(a.n)]
    check_spans(recs)
    write_jsonl(a.out, recs)


if __name__ == "__main__":
    main()
