#!/usr/bin/env python3
"""Run other projects' labelled test values through `custos-agent scan` and score them.

usage: bench/generalise/run.py [TSV ...] [--agent PATH] [--templates kv,json,text,bare]
                               [--json OUT] [--markdown OUT] [--by-source] [--examples N]
                               [--min-confidence X] [--keep LOGFILE]

TSV files (default: bench/generalise/data/*.tsv) have the columns source, type, valid, form,
value (see extract.py); lines starting with '#' are comments.  Every value is written, exactly
as the row has it (JSON-escaped inside the JSON template, nothing else), into one log line per
template:

  kv    2025-03-01T10:15:00Z INFO api user_<key>=VALUE status=ok
  json  {"ts":"2025-03-01T10:15:00Z","level":"info","<key>":"VALUE"}
  text  2025-03-01 10:15:00 INFO Customer VALUE called
  bare  2025-03-01 10:15:00 INFO processed VALUE

<key> is the field name a log would use for the type (iban, phone, vat, nir, bsn, pesel...):
often one of the detector's context words, as in real logs.  `text` has the word "called",
which is a phone context word; `bare` has no context word at all.

The lines are scanned with `custos-agent scan --json --matches FILE` and scored:
  valid        number of valid values (each is written once per template)
  recall       valid values for which a finding of the type's detector overlaps the value
               (overall, then per template)
  any          valid values with a finding of ANY detector overlapping them (reported, maybe
               under the wrong type)
  partial      of those, values the right detector's findings do not cover entirely
  inv.rep      invalid values for which a finding of the type's detector overlaps the value
  confusion    values (valid or not) with a finding of ANOTHER detector overlapping them
  noise        findings outside the value (on the template text itself; should be 0)
Types without a Custos detector (unsupported.tsv) are scored as "reported by any detector".

Exit status: 0 when the scan ran (whatever the figures), 2 on a tool error.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# type -> (Custos detectors that count as right, field name used in the kv and json templates)
TYPES = {
    "EMAIL": ({"email"}, "email"),
    "PHONE": ({"phone"}, "phone"),
    "IBAN": ({"iban"}, "iban"),
    "CREDIT_CARD": ({"payment_card"}, "card"),
    "EU_VAT": ({"eu_vat_number"}, "vat"),
    "FR_NIR": ({"fr_nir"}, "nir"),
    "DE_TAXID": ({"de_tax_id"}, "steuer_id"),
    "ES_DNI": ({"es_dni"}, "dni"),
    "ES_NIE": ({"es_nie"}, "nie"),
    "IT_CF": ({"it_fiscal_code"}, "codice_fiscale"),
    "NL_BSN": ({"nl_bsn"}, "bsn"),
    "BE_NRN": ({"be_national_number"}, "rijksregisternummer"),
    "PL_PESEL": ({"pl_pesel"}, "pesel"),
    "PT_NIF": ({"pt_nif"}, "nif"),
    "SE_PNR": ({"se_personnummer"}, "personnummer"),
    "DK_CPR": ({"dk_cpr"}, "cpr"),
    "FI_HETU": ({"fi_hetu"}, "hetu"),
    "AT_SVNR": ({"at_svnr"}, "svnr"),
    "IE_PPS": ({"ie_ppsn"}, "ppsn"),
    "UK_NINO": ({"gb_nino"}, "nino"),
    "UK_NHS": ({"gb_nhs_number"}, "nhs_number"),
    "US_SSN": ({"us_ssn"}, "ssn"),
    "RO_CNP": ({"ro_cnp"}, "cnp"),
    "HR_OIB": ({"hr_oib"}, "oib"),
    "CZ_RC": ({"cz_birth_number"}, "rodne_cislo"),
    "EE_IK": ({"ee_personal_code"}, "isikukood"),
    "LT_AK": ({"ee_personal_code"}, "asmens_kodas"),
    "MAC": ({"mac_address"}, "mac"),
}
# Types Custos has no detector for: field names only.
UNSUPPORTED_KEYS = {
    "BG_EGN": "egn", "CH_AHV": "ahv", "GR_AMKA": "amka", "IS_KT": "kennitala",
    "NO_FNR": "fodselsnummer", "SI_EMSO": "emso", "TR_TCKN": "tckn", "DE_STNR": "steuernummer",
    "FR_SPI": "numero_fiscal", "UK_UTR": "utr", "US_ITIN": "itin", "PT_CC": "cartao_cidadao",
    "NL_ONDERWIJSNR": "onderwijsnummer", "IMEI": "imei", "ES_CIF": "cif", "ES_NIF_KLM": "nif",
    "IT_IVA": "codice_fiscale",
}

TS = "2025-03-01T10:15:00Z"
TEMPLATES = {
    "kv": lambda key, v: (f"{TS} INFO api user_{key}=", v, " status=ok"),
    "json": lambda key, v: ('{"ts":"%s","level":"info","%s":"' % (TS, key),
                            json.dumps(v, ensure_ascii=False)[1:-1], '"}'),
    "text": lambda key, v: ("2025-03-01 10:15:00 INFO Customer ", v, " called"),
    "bare": lambda key, v: ("2025-03-01 10:15:00 INFO processed ", v, ""),
}
FORM_ORDER = ["as-in-source", "compact", "spaced", "dashed", "dotted", "slashed", "formatted",
              "lowercase", "e164", "international", "00-prefix", "national"]


def read_rows(paths):
    rows = []
    for p in paths:
        with open(p, encoding="utf-8") as f:
            header = None
            for line in f:
                line = line.rstrip("\n")
                if not line or line.startswith("#"):
                    continue
                cols = line.split("\t")
                if header is None:
                    header = cols
                    continue
                if len(cols) != len(header):
                    raise SystemExit(f"{p}: bad row: {line!r}")
                rows.append(dict(zip(header, cols)))
    return rows


def key_for(t):
    if t in TYPES:
        return TYPES[t][1]
    return UNSUPPORTED_KEYS.get(t, t.lower())


def ratio(a, b):
    return None if b == 0 else a / b


def fmt_pct(x):
    return "-" if x is None else f"{x:.3f}"


def scan(agent, logfile, min_conf):
    cmd = [agent, "scan", "--json", "--matches"]
    if min_conf is not None:
        cmd += ["--min-confidence", str(min_conf)]
    cmd.append(logfile)
    p = subprocess.run(cmd, capture_output=True)
    if p.returncode not in (0, 1):
        sys.stderr.write(p.stderr.decode(errors="replace"))
        raise SystemExit(f"error: {' '.join(cmd)} exited with {p.returncode}")
    out = []
    for l in p.stdout.decode().splitlines():
        if l.strip():
            out.append(json.loads(l))
    return out


def form_key(f):
    return (FORM_ORDER.index(f) if f in FORM_ORDER else len(FORM_ORDER), f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tsv", nargs="*")
    ap.add_argument("--agent", default=os.path.join(ROOT, "target", "release", "custos-agent"))
    ap.add_argument("--templates", default="kv,json,text,bare")
    ap.add_argument("--min-confidence", type=float, default=None)
    ap.add_argument("--json", default=None, help="write every figure and every failing value here")
    ap.add_argument("--by-source", action="store_true", help="also print recall per source")
    ap.add_argument("--examples", type=int, default=3,
                    help="missed / wrongly reported values printed per type and form (0: none)")
    ap.add_argument("--markdown", default=None, help="write the type/form table as Markdown here")
    ap.add_argument("--keep", default=None, help="keep the generated log file here")
    a = ap.parse_args()

    paths = a.tsv or sorted(glob.glob(os.path.join(HERE, "data", "*.tsv")))
    if not paths:
        raise SystemExit("error: no TSV files (run extract.py first)")
    if not os.access(a.agent, os.X_OK):
        raise SystemExit(f"error: agent binary not found: {a.agent} (--agent PATH)")
    templates = a.templates.split(",")
    for t in templates:
        if t not in TEMPLATES:
            raise SystemExit(f"error: unknown template {t}")
    rows = read_rows(paths)

    # one line per (row, template)
    cases = []  # (row, template, value_start, value_end) by line number - 1
    buf = []
    for r in rows:
        for t in templates:
            pre, v, post = TEMPLATES[t](key_for(r["type"]), r["value"])
            s = len(pre.encode())
            e = s + len(v.encode())
            buf.append(pre + v + post)
            cases.append((r, t, s, e))
    tmpdir = None if a.keep else tempfile.mkdtemp(prefix="custos-generalise-")
    logfile = a.keep or os.path.join(tmpdir, "cases.log")
    with open(logfile, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(buf) + "\n")
    try:
        findings = scan(a.agent, logfile, a.min_confidence)
    finally:
        if not a.keep:
            os.unlink(logfile)
            os.rmdir(tmpdir)
    by_line = defaultdict(list)
    for d in findings:
        by_line[d["line"]].append(d)

    # score every case
    stats = defaultdict(Counter)  # (scope...) -> counters
    fails = defaultdict(list)  # (type, form, kind) -> [(value, source, template, detectors)]
    confusion = defaultdict(Counter)  # type -> other detector -> cases
    noise = Counter()
    unsupported_hits = defaultdict(Counter)  # type -> detector -> cases
    for i, (r, t, s, e) in enumerate(cases):
        typ, form, valid = r["type"], r["form"], r["valid"] == "1"
        right = TYPES.get(typ, (set(), None))[0]
        supported = typ in TYPES
        over = [d for d in by_line.get(i + 1, []) if d["start"] < e and d["end"] > s]
        for d in by_line.get(i + 1, []):
            if not (d["start"] < e and d["end"] > s):
                noise[d["detector"]] += 1
        hit = [d for d in over if d["detector"] in right]
        other = sorted(set(d["detector"] for d in over if d["detector"] not in right))
        covered = False
        if hit:
            raw = r["value"] if t != "json" else json.dumps(r["value"], ensure_ascii=False)[1:-1]
            bs = raw.encode()
            cov = set()
            for d in hit:
                cov.update(range(max(d["start"], s) - s, min(d["end"], e) - s))
            covered = all(j in cov for j, ch in enumerate(bs) if chr(ch).isalnum())
        src = r["source"].split(":")
        srckey = ":".join(src[:3] if src[0] == "stdnum" else src[:2])  # eu.vat:AT, phonenumbers:FR
        for scope in ((typ, form), (typ, "*"), ("tmpl", typ, t), ("src", typ, srckey, form),
                      ("ft", typ, form, t), ("ft", typ, "*", t)):
            c = stats[scope]
            c["n" + ("v" if valid else "i")] += 1
            if hit:
                c["hit_" + ("v" if valid else "i")] += 1
                if valid and not covered:
                    c["partial"] += 1
            if other:
                c["other"] += 1
            if over:
                c["any_" + ("v" if valid else "i")] += 1
        for o in other:
            confusion[typ][o] += 1
        if not supported:
            for d in set(d["detector"] for d in over):
                unsupported_hits[typ][d] += 1
        detectors = sorted(set(d["detector"] for d in over))
        item = (r["value"], r["source"], t, detectors)
        if supported and valid and not hit:
            fails[(typ, form, "missed")].append(item)
        elif supported and valid and not covered:
            fails[(typ, form, "partial")].append(item)
        elif supported and not valid and hit:
            fails[(typ, form, "invalid_reported")].append(item)

    types = sorted({r["type"] for r in rows}, key=lambda x: (x not in TYPES, x))
    print(f"{len(rows)} values x {len(templates)} templates ({','.join(templates)}) = {len(cases)} lines, "
          f"{len(findings)} findings; agent {a.agent}")
    print()
    tcols = " ".join(f"{t:>5}" for t in templates)
    hdr = (f"{'type':<12} {'form':<14} {'valid':>6} {'recall':>6} [{tcols}] {'any':>5} {'partial':>7} "
           f"{'invalid':>7} {'inv.rep':>7} {'confusion':>9}")
    print(hdr)
    print("-" * len(hdr))
    report = {"lines": len(cases), "findings": len(findings), "templates": templates,
              "types": {}, "templates_by_type": {}, "sources": {}, "confusion": {},
              "noise": dict(noise), "unsupported": {}, "failures": {}}
    for typ in types:
        if typ not in TYPES:
            continue
        forms = sorted({f for (tt, f) in [k for k in stats if len(k) == 2] if tt == typ and f != "*"},
                       key=form_key)
        for f in forms + ["*"]:
            c = stats[(typ, f)]
            rec = ratio(c["hit_v"], c["nv"])
            inv = ratio(c["hit_i"], c["ni"])
            conf = ratio(c["other"], c["nv"] + c["ni"])
            part = ratio(c["partial"], c["hit_v"])
            label = "ALL" if f == "*" else f
            per_t = {t: ratio(stats[("ft", typ, f, t)]["hit_v"], stats[("ft", typ, f, t)]["nv"])
                     for t in templates}
            tvals = " ".join(f"{fmt_pct(per_t[t]):>5}" for t in templates)
            anyv = ratio(c["any_v"], c["nv"])
            nt = len(templates)
            print(f"{typ:<12} {label:<14} {c['nv'] // nt:>6} {fmt_pct(rec):>6} [{tvals}] {fmt_pct(anyv):>5} "
                  f"{fmt_pct(part):>7} {c['ni'] // nt:>7} {fmt_pct(inv):>7} {fmt_pct(conf):>9}")
            report["types"].setdefault(typ, {})[label] = {"recall_by_template": per_t, "any_detector": anyv,
                "valid_values": c["nv"] // len(templates), "valid_lines": c["nv"], "recall": rec,
                "found": c["hit_v"], "partial": c["partial"],
                "invalid_values": c["ni"] // len(templates), "invalid_lines": c["ni"],
                "invalid_reported": inv, "invalid_found": c["hit_i"],
                "confusion": conf, "confused": c["other"]}
        if len(forms) > 1:
            print()
    print()
    print("per template (valid recall / invalid reported):")
    print(f"{'type':<12} " + " ".join(f"{t:>13}" for t in templates))
    for typ in types:
        if typ not in TYPES:
            continue
        cells = []
        for t in templates:
            c = stats[("tmpl", typ, t)]
            cells.append(f"{fmt_pct(ratio(c['hit_v'], c['nv'])):>5} / {fmt_pct(ratio(c['hit_i'], c['ni'])):>5}")
            report["templates_by_type"].setdefault(typ, {})[t] = {
                "recall": ratio(c["hit_v"], c["nv"]), "invalid_reported": ratio(c["hit_i"], c["ni"])}
        print(f"{typ:<12} " + " ".join(f"{x:>13}" for x in cells))

    if any(confusion.values()):
        print()
        print("type confusion (lines where another detector reports on the value):")
        for typ in types:
            if confusion.get(typ):
                print(f"  {typ:<12} " + ", ".join(f"{d} {n}" for d, n in confusion[typ].most_common()))
                report["confusion"][typ] = dict(confusion[typ])
    if noise:
        print()
        print("noise (findings outside the value, on template text): " +
              ", ".join(f"{d} {n}" for d, n in noise.most_common()))

    uns = [t for t in types if t not in TYPES]
    if uns:
        print()
        print("no Custos detector (reported by any detector: valid / invalid):")
        for typ in uns:
            c = stats[(typ, "*")]
            rv, ri = ratio(c["any_v"], c["nv"]), ratio(c["any_i"], c["ni"])
            by = ", ".join(f"{d} {n}" for d, n in unsupported_hits[typ].most_common())
            nt = len(templates)
            print(f"  {typ:<15} {c['nv'] // nt:>4} {fmt_pct(rv):>5} / {c['ni'] // nt:>3} {fmt_pct(ri):>5}  {by}")
            report["unsupported"][typ] = {"valid": c["nv"] // nt, "reported_valid": rv, "invalid": c["ni"] // nt,
                                          "reported_invalid": ri, "by": dict(unsupported_hits[typ])}

    srcs = sorted(k for k in stats if k[0] == "src")
    for k in srcs:
        c = stats[k]
        report["sources"].setdefault(k[1], {}).setdefault(k[2], {})[k[3]] = {
            "valid": c["nv"] // len(templates), "recall": ratio(c["hit_v"], c["nv"]),
            "invalid": c["ni"] // len(templates), "invalid_reported": ratio(c["hit_i"], c["ni"])}
    if a.by_source:
        print()
        print("per source (valid recall / invalid reported), rows with a failure only:")
        for k in srcs:
            c = stats[k]
            if k[1] not in TYPES:
                continue
            if c["hit_v"] == c["nv"] and c["hit_i"] == 0:
                continue
            nt = len(templates)
            print(f"  {k[1]:<10} {k[2]:<28} {k[3]:<14} {c['nv'] // nt:>4} {fmt_pct(ratio(c['hit_v'], c['nv'])):>5}"
                  f"   {c['ni'] // nt:>4} {fmt_pct(ratio(c['hit_i'], c['ni'])):>5}")

    if a.examples:
        print()
        print(f"examples (up to {a.examples} distinct values per type, form and kind; template, detectors):")
        for (typ, form, kind) in sorted(fails, key=lambda k: (k[0], form_key(k[1]), k[2])):
            seen = []
            for v, src, t, dets in fails[(typ, form, kind)]:
                if v in [x[0] for x in seen]:
                    continue
                seen.append((v, src, t, dets))
                if len(seen) >= a.examples:
                    break
            n = len({x[0] for x in fails[(typ, form, kind)]})
            ex = "; ".join(f"{v!r} ({t}{', ' + '+'.join(d) if d else ''})" for v, _, t, d in seen)
            print(f"  {typ:<10} {form:<13} {kind:<16} {n:>4} values: {ex}")
    for (typ, form, kind), items in fails.items():
        report["failures"].setdefault(typ, {}).setdefault(form, {})[kind] = [
            {"value": v, "source": s, "template": t, "detectors": d} for v, s, t, d in items]
    if a.markdown:
        with open(a.markdown, "w", encoding="utf-8") as f:
            f.write("| type | form | valid | recall | " + " | ".join(templates) +
                    " | any detector | invalid | invalid reported | confusion |\n")
            f.write("|---|---|---:|---:|" + "---:|" * len(templates) + "---:|---:|---:|---:|\n")
            for typ, forms in report["types"].items():
                for label, d in forms.items():
                    cells = [typ, "**all**" if label == "ALL" else label, str(d["valid_values"]),
                             fmt_pct(d["recall"])]
                    cells += [fmt_pct(d["recall_by_template"][t]) for t in templates]
                    cells += [fmt_pct(d["any_detector"]), str(d["invalid_values"]),
                              fmt_pct(d["invalid_reported"]), fmt_pct(d["confusion"])]
                    f.write("| " + " | ".join(cells) + " |\n")
        print(f"wrote {a.markdown}")
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1, ensure_ascii=False, sort_keys=True)
        print(f"\nwrote {a.json}")


if __name__ == "__main__":
    try:
        main()
    except SystemExit as e:
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
            sys.exit(2)
        raise
