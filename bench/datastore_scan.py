#!/usr/bin/env python3
"""Data-store scan speed and memory: a directory of CSV/NDJSON files, and a PostgreSQL database.

usage: bench/datastore_scan.py [--mb 200] [--tables 50] [--rows 100000] [--bin target/release]
                               [--postgres URL] [--skip-files] [--skip-postgres] [--keep]

Files: generates --mb megabytes of customer-like CSV and NDJSON (half each; ids, names,
e-mail addresses, French phone numbers, IBAN-free notes, dates), then times
`custos-agent scan DIR --json` and prints MB/s and the peak RSS of the process.

PostgreSQL (--postgres, default $CUSTOS_TEST_POSTGRES or postgres://postgres:postgres@127.0.0.1:5432/test):
creates the schema `custos_bench` with --tables tables of --rows rows each (through psql,
`generate_series`; analysed, as a production database is), then times
`custos-agent scan 'URL?schema=custos_bench' --json` with the default sample size and prints
seconds, tables/s and peak RSS. The schema is dropped at the end unless --keep.
"""
import argparse, os, random, resource, shutil, subprocess, sys, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument("--mb", type=int, default=200)
ap.add_argument("--tables", type=int, default=50)
ap.add_argument("--rows", type=int, default=100000)
ap.add_argument("--bin", default="target/release")
ap.add_argument("--postgres", default=os.environ.get("CUSTOS_TEST_POSTGRES", "postgres://postgres:postgres@127.0.0.1:5432/test"))
ap.add_argument("--skip-files", action="store_true")
ap.add_argument("--skip-postgres", action="store_true")
ap.add_argument("--keep", action="store_true")
a = ap.parse_args()

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AGENT = os.path.join(ROOT, a.bin, "custos-agent") if not os.path.isabs(a.bin) else os.path.join(a.bin, "custos-agent")
if not os.path.exists(AGENT):
    sys.exit(f"{AGENT} not found: build it with `cargo build --release -p custos-agent` (or pass --bin)")


def timed(args):
    """Runs args with stdout to /dev/null; returns (seconds, peak RSS in MB, exit code, stdout lines)."""
    out = tempfile.TemporaryFile()
    t0 = time.monotonic()
    p = subprocess.Popen(args, stdout=out, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    secs = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode(errors="replace")
    out.seek(0)
    lines = out.read().decode().count("\n")
    if p.returncode not in (0, 1):
        sys.exit(f"scan failed ({p.returncode}): {err}")
    return secs, usage.ru_maxrss / 1024, p.returncode, lines


FIRST = ["Jeanne", "Louis", "Camille", "Hugo", "Chloé", "Lucas", "Manon", "Jules", "Léa", "Nathan"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau"]
CITIES = ["Paris", "Lyon", "Marseille", "Lille", "Nantes", "Rennes", "Bordeaux", "Toulouse"]
NOTES = ["called back", "asked for invoice", "prefers e-mail", "VIP", "", "moved", "order delayed 3 days"]


def person(rng, i):
    f, l = rng.choice(FIRST), rng.choice(LAST)
    email = f"{f.lower().replace('é', 'e')}.{l.lower()}{i}@example.fr"
    phone = "0{} {:02d} {:02d} {:02d} {:02d}".format(rng.choice("1234567"), *(rng.randrange(100) for _ in range(4)))
    date = f"20{rng.randrange(10, 26)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
    return f, l, email, phone, rng.choice(CITIES), date, rng.choice(NOTES)


def make_files(root, mb):
    rng = random.Random(7)
    target = mb * 1_000_000
    per_file = 10_000_000
    written, n, i = 0, 0, 0
    while written < target:
        csv = n % 2 == 0
        path = os.path.join(root, f"export_{n:03d}.{'csv' if csv else 'ndjson'}")
        with open(path, "w", encoding="utf-8") as f:
            if csv:
                f.write("id,first_name,last_name,email,phone,city,created_at,note\n")
            size = 0
            while size < per_file and written + size < target:
                i += 1
                p = person(rng, i)
                if csv:
                    line = f"{i},{p[0]},{p[1]},{p[2]},{p[3]},{p[4]},{p[5]},{p[6]}\n"
                else:
                    line = ('{"id":%d,"customer":{"name":{"first":"%s","last":"%s"},"contact":{"email":"%s","phone":"%s"}},'
                            '"city":"%s","created_at":"%s","note":"%s"}\n') % (i, p[0], p[1], p[2], p[3], p[4], p[5], p[6])
                f.write(line)
                size += len(line.encode())
        written += os.path.getsize(path)
        n += 1
    return written, n


def psql(sql):
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", a.postgres, "-c", "SET client_min_messages = warning; " + sql], check=True, stdout=subprocess.DEVNULL)


cores = os.cpu_count()
print(f"machine: {cores} cores; binary: {AGENT}")

if not a.skip_files:
    tmp = tempfile.mkdtemp(prefix="custos-ds-bench-")
    try:
        t0 = time.monotonic()
        size, count = make_files(tmp, a.mb)
        print(f"files: generated {count} CSV/NDJSON files, {size / 1e6:.0f} MB in {time.monotonic() - t0:.0f} s")
        secs, rss, code, lines = timed([AGENT, "scan", tmp, "--json"])
        print(f"files: scanned {size / 1e6:.0f} MB in {secs:.1f} s = {size / 1e6 / secs:.1f} MB/s, peak RSS {rss:.0f} MB, {lines} column findings, exit {code}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

if not a.skip_postgres:
    schema = "custos_bench"
    psql(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    try:
        t0 = time.monotonic()
        for t in range(a.tables):
            psql(
                f"CREATE TABLE {schema}.t{t:02d} (id bigserial PRIMARY KEY, first_name text, last_name text, email text, phone text, "
                f"city text, note text, created_at timestamptz, amount numeric);"
                f"INSERT INTO {schema}.t{t:02d} (first_name, last_name, email, phone, city, note, created_at, amount) "
                f"SELECT 'Jeanne', 'Martin', 'client' || i || '.t{t}@example.fr', '06 ' || lpad((i % 100)::text, 2, '0') || ' 12 34 56', "
                f"'Lyon', CASE WHEN i % 3 = 0 THEN 'called back' ELSE '' END, now() - (i % 3000) * interval '1 day', i "
                f"FROM generate_series(1, {a.rows}) AS i; ANALYZE {schema}.t{t:02d};"
            )
        print(f"postgres: created {a.tables} tables x {a.rows} rows in {time.monotonic() - t0:.0f} s")
        sep = "&" if "?" in a.postgres else "?"
        secs, rss, code, lines = timed([AGENT, "scan", f"{a.postgres}{sep}schema={schema}", "--json"])
        print(f"postgres: classified {a.tables} tables x {a.rows} rows (default sample) in {secs:.2f} s = {a.tables / secs:.1f} tables/s, "
              f"peak RSS {rss:.0f} MB, {lines} column findings, exit {code}")
    finally:
        if not a.keep:
            psql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
