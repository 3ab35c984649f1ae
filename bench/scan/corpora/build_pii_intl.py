#!/usr/bin/env python3
"""Build pii_intl.jsonl: national identifiers and other structured PII Presidio supports,
in short handwritten context sentences (marked "source": "covault-templates").

The values are not produced by covault's rules: they come from Faker (it_IT codice
fiscale, es_ES NIF/NIE, pl_PL PESEL, en_IN Aadhaar, en_US ITIN/passport, IBANs of
several countries) or are generated here from the public specifications of each
identifier's check digit (NHS mod 11, HMRC NINO prefixes, Singapore NRIC/FIN, Australian
TFN, Indian PAN, DEA registration numbers, Bitcoin Base58Check), and every one is checked
with python-stdnum where stdnum knows the identifier. The same templates are also filled
with *near misses* (a wrong check digit, or a plain order/tracking number) that are left
unlabelled: they measure whether a detector validates what it reports.

Usage: python build_pii_intl.py [--per-type 40] [--seed 5]   (needs faker, python-stdnum)
"""

from __future__ import annotations

import argparse
import hashlib
import random
import string
from pathlib import Path

from faker import Faker
from stdnum import iban as s_iban
from stdnum.au import tfn as s_tfn
from stdnum.es import nie as s_nie, nif as s_nif
from stdnum.gb import nhs as s_nhs
from stdnum.in_ import aadhaar as s_aadhaar, pan as s_pan
from stdnum.it import codicefiscale as s_cf
from stdnum.pl import pesel as s_pesel
from stdnum.us import itin as s_itin

from _common import fixed_hashseed, HERE, check_spans, write_jsonl

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

TEMPLATES = {
    "UK_NHS": ["Patient NHS number: {v}", "NHS No. {v} - please bring this letter to your appointment.",
               "Referral for {p}, NHS number {v}, date of birth on file.", "nhs_number,{v}", "Your NHS number is {v}."],
    "UK_NINO": ["National Insurance number: {v}", "NI No {v}", "Please quote your NINO ({v}) on the form.",
                "{p}'s national insurance number is {v}.", "employee_ni = \"{v}\""],
    "ES_NIF": ["NIF: {v}", "Mi DNI es {v}.", "Factura a nombre de {p}, NIF {v}.", "Tax ID (NIF) {v}"],
    "ES_NIE": ["NIE: {v}", "Número de identidad de extranjero {v}", "{p}, NIE {v}, residente en Madrid."],
    "IT_FISCAL_CODE": ["Codice fiscale: {v}", "C.F. {v}", "Il codice fiscale di {p} è {v}.", "codice_fiscale={v}"],
    "PL_PESEL": ["PESEL: {v}", "Numer PESEL {v}", "{p}, PESEL {v}, zamieszkały w Krakowie."],
    "IN_AADHAAR": ["Aadhaar: {v}", "My Aadhaar number is {v}.", "UIDAI no. {v} linked to mobile.", "aadhaar_no: {v}"],
    "IN_PAN": ["PAN: {v}", "Permanent Account Number {v}", "Please update PAN {v} for {p} in the KYC form."],
    "SG_NRIC_FIN": ["NRIC: {v}", "FIN {v}", "{p} (NRIC {v}) has checked in.", "IC number {v}"],
    "AU_TFN": ["TFN: {v}", "Tax file number {v}", "Your tax file number ({v}) was received by the ATO."],
    "US_ITIN": ["ITIN: {v}", "Individual taxpayer identification number {v}", "{p} files with ITIN {v}."],
    "US_PASSPORT": ["US passport number {v}", "Passport No.: {v}", "{p}'s passport {v} expires next year."],
    "US_BANK_NUMBER": ["Bank account number: {v}", "Checking acct {v}", "Please wire to account {v}, routing on file."],
    "MEDICAL_LICENSE": ["DEA number {v}", "Prescriber DEA: {v}", "Dr. {p}, DEA registration {v}"],
    "CRYPTO": ["Send BTC to {v}", "bitcoin address: {v}", "Donations: {v}", "wallet={v}"],
    "IBAN_CODE": ["IBAN: {v}", "Please transfer the deposit to {v}.", "Kontoverbindung: {p}, IBAN {v}"],
    "US_SSN": ["SSN: {v}", "Social Security Number {v}", "{p}'s SSN is {v}."],
}


def nhs(rng, valid=True):
    while True:
        d = [rng.randrange(10) for _ in range(9)]
        c = 11 - sum(x * (10 - i) for i, x in enumerate(d)) % 11
        c = 0 if c == 11 else c
        if c == 10:
            continue
        if not valid:
            c = (c + rng.randint(1, 9)) % 10
        s = "".join(map(str, d)) + str(c)
        if valid:
            assert s_nhs.is_valid(s)
        elif s_nhs.is_valid(s):
            continue
        return rng.choice([f"{s[:3]} {s[3:6]} {s[6:]}", s, f"{s[:3]}-{s[3:6]}-{s[6:]}"])


def nino(rng, valid=True):
    bad1, bad2 = set("DFIQUV"), set("DFIOQUV")
    while True:
        a, b = rng.choice(string.ascii_uppercase), rng.choice(string.ascii_uppercase)
        if a in bad1 or b in bad2 or a + b in {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}:
            continue
        break
    digits = "".join(str(rng.randrange(10)) for _ in range(6))
    suf = rng.choice("ABCD") if valid else rng.choice("EFGXYZ")
    return rng.choice([f"{a}{b} {digits[:2]} {digits[2:4]} {digits[4:]} {suf}", f"{a}{b}{digits}{suf}"])


def nric(rng, valid=True):
    p = rng.choice("STFG")
    d = [rng.randrange(10) for _ in range(7)]
    s = sum(x * w for x, w in zip(d, [2, 7, 6, 5, 4, 3, 2])) + (4 if p in "TG" else 0)
    table = "JZIHGFEDCBA" if p in "ST" else "XWUTRQPNMLK"
    c = table[s % 11]
    if not valid:
        c = table[(s + rng.randint(1, 10)) % 11]
    return p + "".join(map(str, d)) + c


def tfn(rng, valid=True):
    while True:
        d = [rng.randrange(10) for _ in range(9)]
        ok = sum(x * w for x, w in zip(d, [1, 4, 3, 7, 5, 8, 6, 9, 10])) % 11 == 0
        if ok == valid:
            s = "".join(map(str, d))
            assert s_tfn.is_valid(s) == valid
            return rng.choice([s, f"{s[:3]} {s[3:6]} {s[6:]}"])


def pan(rng, valid=True):
    s = ("".join(rng.choice(string.ascii_uppercase) for _ in range(3)) + rng.choice("PCHFATBLJG")
         + rng.choice(string.ascii_uppercase) + "".join(str(rng.randrange(10)) for _ in range(4))
         + rng.choice(string.ascii_uppercase))
    if valid:
        assert s_pan.is_valid(s), s
        return s
    return s[:3] + rng.choice("DEIKMNOQRSUVWXYZ") + s[4:]  # invalid holder-type letter


def dea(rng, valid=True):
    a = rng.choice("ABFGMPR")
    b = rng.choice(string.ascii_uppercase)
    d = [rng.randrange(10) for _ in range(6)]
    c = (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10
    if not valid:
        c = (c + rng.randint(1, 9)) % 10
    return a + b + "".join(map(str, d)) + str(c)


def b58check(payload: bytes) -> str:
    chk = hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    n = int.from_bytes(payload + chk, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "1" * (len(payload) - len(payload.lstrip(b"\0"))) + out


def btc(rng, valid=True):
    ver = rng.choice([b"\x00", b"\x05"])
    s = b58check(ver + bytes(rng.randrange(256) for _ in range(20)))
    if not valid:
        i = rng.randrange(5, len(s) - 1)
        s = s[:i] + rng.choice([c for c in B58 if c != s[i]]) + s[i + 1:]
    return s


def main():
    fixed_hashseed()
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-type", type=int, default=40)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--out", type=Path, default=HERE / "pii_intl.jsonl")
    a = ap.parse_args()
    random.seed(a.seed)  # some Faker providers (es_ES nif/nie, ...) use the global random
    rng = random.Random(a.seed)
    fk = {}
    for i, loc in enumerate(["en_US", "en_GB", "it_IT", "es_ES", "pl_PL", "en_IN", "de_DE", "fr_FR", "nl_NL"]):
        fk[loc] = Faker(loc)
        fk[loc].seed_instance(a.seed * 100 + i)

    def faker_valid(loc, meth, check):
        for _ in range(100):
            v = str(getattr(fk[loc], meth)())
            if check(v):
                return v
        raise RuntimeError(meth)

    gen = {
        "UK_NHS": lambda ok: nhs(rng, ok), "UK_NINO": lambda ok: nino(rng, ok), "SG_NRIC_FIN": lambda ok: nric(rng, ok),
        "AU_TFN": lambda ok: tfn(rng, ok), "IN_PAN": lambda ok: pan(rng, ok), "MEDICAL_LICENSE": lambda ok: dea(rng, ok),
        "CRYPTO": lambda ok: btc(rng, ok),
        "ES_NIF": lambda ok: faker_valid("es_ES", "nif", s_nif.is_valid),
        "ES_NIE": lambda ok: faker_valid("es_ES", "nie", s_nie.is_valid),
        "IT_FISCAL_CODE": lambda ok: faker_valid("it_IT", "ssn", s_cf.is_valid),
        "PL_PESEL": lambda ok: faker_valid("pl_PL", "pesel", s_pesel.is_valid),
        "IN_AADHAAR": lambda ok: (lambda v: rng.choice([v, f"{v[:4]} {v[4:8]} {v[8:]}"]))(
            faker_valid("en_IN", "aadhaar_id", s_aadhaar.is_valid)),
        "US_ITIN": lambda ok: faker_valid("en_US", "itin", s_itin.is_valid),
        "US_PASSPORT": lambda ok: fk["en_US"].passport_number(),
        "US_BANK_NUMBER": lambda ok: "".join(str(rng.randrange(10)) for _ in range(rng.randint(8, 17))),
        "IBAN_CODE": lambda ok: (lambda v: rng.choice([v, " ".join(v[i:i + 4] for i in range(0, len(v), 4))]))(
            faker_valid(rng.choice(["en_GB", "it_IT", "es_ES", "pl_PL", "de_DE", "fr_FR", "nl_NL"]), "iban", s_iban.is_valid)),
        "US_SSN": lambda ok: fk["en_US"].ssn(),
    }
    # near misses: same templates, invalid check digit (types whose validity is checkable)
    near_miss = {"UK_NHS", "UK_NINO", "SG_NRIC_FIN", "AU_TFN", "IN_PAN", "MEDICAL_LICENSE", "CRYPTO"}
    recs = []
    for typ, tpls in TEMPLATES.items():
        for k in range(a.per_type):
            loc = rng.choice(list(fk))
            person = fk[loc].name()
            tpl = tpls[k % len(tpls)]
            v = gen[typ](True)
            text = tpl.replace("{p}", person)
            start = text.index("{v}")
            text = text.replace("{v}", v)
            spans = [{"start": start, "end": start + len(v), "type": typ}]
            if "{p}" in tpl:
                ps = text.index(person)
                spans.append({"start": ps, "end": ps + len(person), "type": "PERSON"})
            recs.append({"id": f"intl-{typ}-{k:03d}", "text": text, "spans": sorted(spans, key=lambda s: s["start"]),
                         "source": "covault-templates", "value_source": "faker/spec"})
        if typ in near_miss:
            for k in range(a.per_type // 4):
                tpl = tpls[k % len(tpls)]
                loc = rng.choice(list(fk))
                person = fk[loc].name()
                text = tpl.replace("{p}", person).replace("{v}", gen[typ](False))
                spans = []
                if "{p}" in tpl:
                    ps = text.index(person)
                    spans.append({"start": ps, "end": ps + len(person), "type": "PERSON"})
                recs.append({"id": f"intl-{typ}-nearmiss-{k:03d}", "text": text, "spans": spans,
                             "source": "covault-templates", "near_miss": typ})
    check_spans(recs)
    write_jsonl(a.out, recs)


if __name__ == "__main__":
    main()
