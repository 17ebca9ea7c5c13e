#!/usr/bin/env python3
"""Extract labelled test values written by other projects into bench/generalise/data/*.tsv.

usage: bench/generalise/extract.py [--out DIR] [--work DIR] [--sample FILE [--sample-only]]

Sources (PyPI sdists, pinned below so the data is reproducible):
  * python-stdnum: the lists of valid and invalid numbers in tests/test_*.doctest
    (`numbers = '''...'''` blocks) and every string literal passed to a function in the doctests
    of tests/ and of the module docstrings (`>>> validate('54362315-K')`).  Each value is labelled
    by the module's own `is_valid()` with default arguments.
  * phonenumbers: `example_number_for_type(region, type)` for every region and number type,
    `example_number_for_non_geo_entity(cc)` for the non-geographic codes (valid), and
    `invalid_example_number(region)` (invalid), written in E.164, INTERNATIONAL, NATIONAL and
    00-prefixed form.
  * email-validator: the parametrised addresses of tests/test_syntax.py, labelled by the test
    they belong to (see EMAIL_TESTS below).

Output columns (tab-separated, one header line): source, type, valid (1/0), form, value.
Types Custos has a detector for go to stdnum.tsv, phonenumbers.tsv, email.tsv; personal
numbers it has no detector for go to unsupported.tsv.

Steps: `pip download --no-deps --no-binary :all:` of the three sdists into WORK/dl, a venv in
WORK/venv with them installed (WORK defaults to /tmp/custos-generalise), then this script runs
again inside that venv (`--inner`) to extract.  Output is sorted and deterministic for the pinned
versions.  `--sample FILE` also writes the small vendored sample used by the Rust test.
"""
import argparse
import ast
import glob
import importlib
import os
import random
import re
import subprocess
import sys
import tarfile

PINS = {"python-stdnum": "2.2", "phonenumbers": "9.0.43", "email-validator": "2.4.0"}
SDIST = {"python-stdnum": "python_stdnum", "phonenumbers": "phonenumbers",
         "email-validator": "email_validator"}

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# stdnum module -> Custos-style type.  Types with a Custos detector:
SUPPORTED = {
    "iban": "IBAN", "be.iban": "IBAN", "es.iban": "IBAN", "no.iban": "IBAN",
    "eu.vat": "EU_VAT",
    "fr.nir": "FR_NIR",
    "de.idnr": "DE_TAXID",
    "es.dni": "ES_DNI", "es.nie": "ES_NIE", "es.nif": None,  # es.nif: by shape, see es_nif_type
    "it.codicefiscale": "IT_CF",
    "nl.bsn": "NL_BSN",
    "be.nn": "BE_NRN", "be.bis": "BE_NRN", "be.ssn": "BE_NRN",
    "pl.pesel": "PL_PESEL",
    "pt.nif": "PT_NIF",
    "se.personnummer": "SE_PNR",
    "dk.cpr": "DK_CPR",
    "fi.hetu": "FI_HETU",
    "at.vnr": "AT_SVNR",
    "ie.pps": "IE_PPS",
    "gb.nhs": "UK_NHS",
    "us.ssn": "US_SSN",
    "ro.cnp": "RO_CNP",
    "hr.oib": "HR_OIB",
    "cz.rc": "CZ_RC", "sk.rc": "CZ_RC",
    "ee.ik": "EE_IK", "lt.asmens": "LT_AK",
    "mac": "MAC",
}
# Personal numbers (or device identifiers) of the same family that Custos has no detector for.
UNSUPPORTED = {
    "bg.egn": "BG_EGN", "ch.ssn": "CH_AHV", "gr.amka": "GR_AMKA", "is_.kennitala": "IS_KT",
    "no.fodselsnummer": "NO_FNR", "si.emso": "SI_EMSO", "tr.tckimlik": "TR_TCKN",
    "de.stnr": "DE_STNR", "fr.nif": "FR_SPI", "gb.utr": "UK_UTR", "us.itin": "US_ITIN",
    "pt.cc": "PT_CC", "nl.onderwijsnummer": "NL_ONDERWIJSNR", "imei": "IMEI",
}
# Types fed by several modules are labelled by one module for the whole type, so that a value
# gets one label whichever test file it comes from (be.bis rejects a valid be.nn number).
TYPE_VALIDATOR = {"IBAN": "iban", "BE_NRN": "be.ssn", "ES_DNI": "es.dni", "ES_NIE": "es.nie",
                  "CZ_RC": "cz.rc"}
SUPPORTED_TYPES = set(t for t in SUPPORTED.values() if t) | {"PHONE", "EMAIL", "ES_DNI", "ES_NIE"}

# email-validator tests/test_syntax.py: test function -> (label, sub-source); None = skipped.
EMAIL_TESTS = {
    "test_email_valid": (1, "valid"),
    "test_email_valid_intl_local_part": (1, "valid_intl"),
    "test_email_valid_only_if_quoted_local_part": (1, "quoted_local"),  # valid when quoting allowed
    "test_email_invalid_syntax": (0, "invalid"),
    "test_email_invalid_syntax_strict": (1, "long_local"),  # accepted unless strict=True
    "test_email_invalid_reserved_domain": (0, "reserved_domain"),
    "test_email_invalid_syntax_display_name": None,  # '<me@example.com>>' holds a valid address
    "test_email_invalid_character_smtputf8_off": None,  # valid with SMTPUTF8, '@test' domain
    "test_pyisemail_tests": "isemail",
}

HEADER = "source\ttype\tvalid\tform\tvalue\n"


def sh(cmd, **kw):
    print("+", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True, **kw)


# ---------------------------------------------------------------------------------------------
# outer stage: download, unpack, venv


def outer(a):
    work = os.path.abspath(a.work)
    dl = os.path.join(work, "dl")
    venv = os.path.join(work, "venv")
    os.makedirs(dl, exist_ok=True)
    specs = [f"{k}=={v}" for k, v in PINS.items()]
    missing = [k for k, v in PINS.items() if not glob.glob(os.path.join(dl, f"{SDIST[k]}-{v}.tar.gz"))]
    if missing:
        sh([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
            "-d", dl] + [f"{k}=={PINS[k]}" for k in missing])
    src = {}
    for k, v in PINS.items():
        tgz = os.path.join(dl, f"{SDIST[k]}-{v}.tar.gz")
        d = os.path.join(dl, f"{SDIST[k]}-{v}")
        if not os.path.isdir(d):
            with tarfile.open(tgz) as t:
                t.extractall(dl)
        src[k] = d
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        sh([sys.executable, "-m", "venv", venv])
    ok = subprocess.run([py, "-c", "import stdnum, phonenumbers, email_validator, sys; "
                         "sys.exit(0 if (stdnum.__version__, phonenumbers.__version__, "
                         f"email_validator.__version__) == {tuple(PINS.values())!r} else 1)"],
                        capture_output=True).returncode == 0
    if not ok:
        sh([py, "-m", "pip", "install", "-q"] +
           [os.path.join(dl, f"{SDIST[k]}-{v}.tar.gz") for k, v in PINS.items()])
    cmd = [py, os.path.abspath(__file__), "--inner", "--out", a.out,
           "--stdnum-src", src["python-stdnum"], "--email-src", src["email-validator"]]
    if a.sample:
        cmd += ["--sample", a.sample]
    sh(cmd)


# ---------------------------------------------------------------------------------------------
# python-stdnum


BLOCK_START = re.compile(r"^>>> (numbers|valid_numbers) = '''\s*$")
CALL = re.compile(r"^\s*>>> [\w.]*\w\(\s*'((?:[^'\\]|\\.)*)'")


def doctest_strings(text):
    """String values of a doctest text: lines of ''' blocks and first literal args of calls."""
    out = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if BLOCK_START.match(line):
            block = []
            i += 1
            while i < len(lines) and not lines[i].startswith("... '''"):
                block.append(lines[i][4:] if lines[i].startswith("... ") else "")
                i += 1
            # the statement after the block may slice each line (test_be_iban: x[:24].strip())
            nxt = next((l for l in lines[i + 1:i + 4] if l.startswith(">>> ")), "")
            m = re.search(r"x\[:(\d+)\]", nxt)
            for v in block:
                if m:
                    v = v[:int(m.group(1))].strip()
                v = v.rstrip()
                if v.strip():
                    out.append(v)
        else:
            m = CALL.match(line)
            if m:
                try:
                    v = ast.literal_eval("'" + m.group(1) + "'")
                except Exception:
                    v = None
                if v and v.strip():
                    out.append(v)
        i += 1
    return out


def module_for(name):
    import stdnum  # noqa: F401
    for cand in (name, name.replace(".", "_.", 1) if "." in name else name + "_"):
        try:
            return importlib.import_module("stdnum." + cand), cand
        except ImportError:
            pass
    return None, None


def es_nif_type(compact):
    c = compact[:1]
    if c.isdigit():
        return "ES_DNI"
    if c in "XYZ":
        return "ES_NIE"
    if c in "KLM":
        return "ES_NIF_KLM"
    return "ES_CIF"


def separator_form(formatted):
    seps = set(ch for ch in formatted if not ch.isalnum())
    if not seps:
        return None
    if seps == {" "}:
        return "spaced"
    if seps == {"-"}:
        return "dashed"
    if seps == {"."}:
        return "dotted"
    if seps == {"/"}:
        return "slashed"
    if seps == {":"}:
        return "colon"
    return "formatted"


def clean(v):
    """Values that cannot sit on one log line (control characters, tabs) are skipped."""
    return v is not None and v == v.strip("\r\n") and not any(ord(ch) < 32 or ord(ch) == 127 for ch in v)


def is_valid(mod, v):
    try:
        return bool(mod.is_valid(v))
    except Exception:
        return False


def stdnum_rows(src):
    import stdnum
    names = {}
    for path in sorted(glob.glob(os.path.join(src, "tests", "test_*.doctest"))):
        base = os.path.basename(path)[5:-len(".doctest")]
        parts = base.split("_", 1)
        cand = [base] if len(parts) == 1 else [parts[0] + "." + parts[1], base]
        for c in cand:
            mod, real = module_for(c)
            if mod is not None:
                names.setdefault(real, []).append(path)
                break
    wanted = {**SUPPORTED, **UNSUPPORTED}
    rows = []
    for name in sorted(wanted):
        mod, real = module_for(name)
        if mod is None:
            continue
        texts = [open(p, encoding="utf-8").read() for p in names.get(real, [])]
        texts.append(mod.__doc__ or "")
        values = []
        for t in texts:
            values += doctest_strings(t)
        seen = set()
        for v in values:
            if v in seen or not clean(v):
                continue
            seen.add(v)
            valid = is_valid(mod, v)
            try:
                compact = mod.compact(v)
            except Exception:
                compact = re.sub(r"[\s.\-/:]", "", v)
            typ = wanted[name]
            if name == "es.nif":
                typ = es_nif_type(compact.upper())
            elif name == "it.codicefiscale" and len(compact) != 16:
                typ = "IT_IVA"  # 11-digit company numbers stdnum also accepts as codice fiscale
            if typ in TYPE_VALIDATOR:
                tmod = module_for(TYPE_VALIDATOR[typ])[0]
                valid = is_valid(tmod, v)
            else:
                tmod = mod
            source = "stdnum:" + name
            if name == "eu.vat":
                source += ":" + compact[:2].upper()
            forms = [("as-in-source", v)]
            if compact and compact != v:
                forms.append(("compact", compact))
            fmt = None
            if hasattr(mod, "format"):
                try:
                    fmt = mod.format(compact)
                except Exception:
                    fmt = None
            if fmt and fmt != compact:
                forms.append((separator_form(fmt) or "formatted", fmt))
            if re.search(r"[A-Za-z]", compact) and compact.lower() != compact:
                forms.append(("lowercase", compact.lower()))
            if not valid and is_valid(tmod, compact):
                # only the writing is wrong ('DE DE 246595415'): the number inside is valid, so
                # it is neither an invalid number nor one written as the source writes it
                continue
            for form, val in forms:
                if clean(val):
                    # each form is labelled on its own: compact() repairs some writings
                    ok = valid if form == "as-in-source" else is_valid(tmod, val)
                    rows.append((source, typ, "1" if ok else "0", form, val))
    # one row per (type, valid, form, value): the first source in module order keeps it
    seen = set()
    out = []
    for r in rows:
        if r[1:] not in seen:
            seen.add(r[1:])
            out.append(r)
    return out


# ---------------------------------------------------------------------------------------------
# phonenumbers


def phone_rows():
    import phonenumbers as pn
    from phonenumbers import PhoneNumberFormat as F, PhoneNumberType as T
    types = sorted((k, getattr(T, k)) for k in dir(T) if k.isupper() and k != "UNKNOWN")
    rows = []

    def emit(source, valid, num, national=True):
        e164 = pn.format_number(num, F.E164)
        forms = [("e164", e164), ("international", pn.format_number(num, F.INTERNATIONAL)),
                 ("00-prefix", "00" + e164[1:])]
        if national:
            forms.append(("national", pn.format_number(num, F.NATIONAL)))
        for form, val in forms:
            if clean(val) and val:
                rows.append((source, "PHONE", valid, form, val))

    for region in sorted(pn.SUPPORTED_REGIONS):
        seen = set()
        for tname, t in types:
            num = pn.example_number_for_type(region, t)
            if num is None:
                continue
            e164 = pn.format_number(num, F.E164)
            if e164 in seen:  # FIXED_LINE_OR_MOBILE often repeats FIXED_LINE
                continue
            seen.add(e164)
            emit(f"phonenumbers:{region}:{tname.lower()}", "1" if pn.is_valid_number(num) else "0", num)
        bad = pn.invalid_example_number(region)
        if bad is not None and not pn.is_valid_number(bad):
            emit(f"phonenumbers:{region}:invalid", "0", bad)
    for cc in sorted(pn.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        num = pn.example_number_for_non_geo_entity(cc)
        if num is not None:
            t = pn.number_type(num)
            tname = next((k for k, v in types if v == t), "unknown").lower()
            emit(f"phonenumbers:001+{cc}:{tname}", "1" if pn.is_valid_number(num) else "0", num,
                 national=False)
    return rows


# ---------------------------------------------------------------------------------------------
# email-validator


def isemail_label(status):
    if status == "ISEMAIL_VALID":
        return 1, "isemail"
    if status == "ISEMAIL_RFC5321_QUOTEDSTRING":
        return 1, "quoted_local"
    if "_ADDRESSLITERAL" in status or status == "ISEMAIL_RFC5321_IPV6DEPRECATED":
        return 1, "domain_literal"
    if status == "ISEMAIL_RFC5322_LOCAL_TOOLONG":
        return 1, "long_local"
    return 0, "isemail_invalid"


def email_rows(src):
    path = os.path.join(src, "tests", "test_syntax.py")
    tree = ast.parse(open(path, encoding="utf-8").read())
    rows = []
    skipped = 0
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or node.name not in EMAIL_TESTS:
            continue
        how = EMAIL_TESTS[node.name]
        if how is None:
            continue
        for dec in node.decorator_list:
            if not (isinstance(dec, ast.Call) and getattr(dec.func, "attr", "") == "parametrize"):
                continue
            for el in dec.args[1].elts:
                first = el.elts[0] if isinstance(el, (ast.Tuple, ast.List)) else el
                try:
                    value = ast.literal_eval(first)
                except Exception:
                    continue
                if how == "isemail":
                    valid, sub = isemail_label(ast.literal_eval(el.elts[1]))
                else:
                    valid, sub = how
                # not writable on one log line, or only whitespace around a valid address
                if not clean(value) or not value or value != value.strip():
                    skipped += 1
                    continue
                rows.append((f"email-validator:{sub}", "EMAIL", str(valid), "as-in-source", value))
    print(f"email-validator: {skipped} values skipped (control characters, surrounding whitespace)",
          file=sys.stderr)
    return rows


# ---------------------------------------------------------------------------------------------


def write(path, rows):
    rows = sorted(set(rows))
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(HEADER)
        for r in rows:
            f.write("\t".join(r) + "\n")
    print(f"{path}: {len(rows)} rows", file=sys.stderr)
    return rows


def read_tsv(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("#") and line + "\n" != HEADER:
                rows.append(tuple(line.split("\t")))
    return rows


def sample(data_dir, path, seed=20251206):
    """A deterministic few rows of every (type, valid, form), spread over the sources."""
    rng = random.Random(seed)
    cells = {}
    for name in ("stdnum.tsv", "phonenumbers.tsv", "email.tsv", "unsupported.tsv"):
        for r in read_tsv(os.path.join(data_dir, name)):
            cells.setdefault((r[1], r[2], r[3]), []).append(r)
    out = set()
    for key in sorted(cells):
        rows = sorted(cells[key])
        if key[0] in ("PHONE", "EMAIL"):
            n = 24
        elif key[0] in ("EU_VAT", "IBAN"):
            n = 12
        elif key[0] in SUPPORTED_TYPES:
            n = 4
        else:
            n = 2
        by_src = {}
        for r in rows:
            by_src.setdefault(r[0], []).append(r)
        picks = [rng.choice(v) for _, v in sorted(by_src.items())]
        rng.shuffle(picks)
        chosen = picks[:n]
        rest = [r for r in rows if r not in chosen]
        rng.shuffle(rest)
        chosen += rest[:max(0, n - len(chosen))]
        out.update(chosen)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("# Vendored sample of bench/generalise/data/*.tsv, written by bench/generalise/extract.py\n")
        f.write("# --sample: test values of python-stdnum %s, phonenumbers %s and email-validator %s\n"
                % (PINS["python-stdnum"], PINS["phonenumbers"], PINS["email-validator"]))
        f.write("# (see bench/generalise/README.md). Do not edit by hand.\n")
        f.write(HEADER)
        for r in sorted(out):
            f.write("\t".join(r) + "\n")
    print(f"{path}: {len(out)} rows", file=sys.stderr)


def inner(a):
    os.makedirs(a.out, exist_ok=True)
    rows = stdnum_rows(a.stdnum_src)
    sup = [r for r in rows if r[1] in SUPPORTED_TYPES]
    uns = [r for r in rows if r[1] not in SUPPORTED_TYPES]
    write(os.path.join(a.out, "stdnum.tsv"), sup)
    write(os.path.join(a.out, "phonenumbers.tsv"), phone_rows())
    write(os.path.join(a.out, "email.tsv"), email_rows(a.email_src))
    write(os.path.join(a.out, "unsupported.tsv"), uns)
    if a.sample:
        sample(a.out, a.sample)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(HERE, "data"))
    ap.add_argument("--work", default="/tmp/custos-generalise")
    ap.add_argument("--sample", default=None,
                    help="also write the vendored sample (tests/data/generalise/sample.tsv)")
    ap.add_argument("--sample-only", action="store_true",
                    help="only write --sample from the TSVs already in --out (no download)")
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--stdnum-src", help=argparse.SUPPRESS)
    ap.add_argument("--email-src", help=argparse.SUPPRESS)
    a = ap.parse_args()
    a.out = os.path.abspath(a.out)
    if a.sample:
        a.sample = os.path.abspath(a.sample)
    if a.sample_only:
        if not a.sample:
            ap.error("--sample-only needs --sample FILE")
        sample(a.out, a.sample)
    elif a.inner:
        inner(a)
    else:
        outer(a)


if __name__ == "__main__":
    main()
