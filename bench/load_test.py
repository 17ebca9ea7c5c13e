#!/usr/bin/env python3
"""Collector load test: N simulated agents over real mutual-TLS gRPC streams on loopback.

usage: bench/load_test.py [--agents 1000] [--rate 50] [--batch 50] [--seconds 20] [--bin target/release]
       (build first: cargo build --release -p custos-collector -p custos-tests)

Starts a real collector (`custos-collector run`, embedded SQLite, the example register) with
certificates made by `custos-collector quickstart`, then `custos-loadgen`: one client certificate,
one TLS connection and one gRPC stream per simulated agent, each sending --rate findings/s in
batches of --batch for --seconds. Prints one JSON object:
  * findings sent and acknowledged, acknowledged findings/s, ack latency p50/p99/max,
  * the collector's CPU (% of one core over the run) and peak RSS (VmHWM),
  * stored: rows in the collector's database for this run — must equal sent (nothing lost, and
    finding ids are unique per run, so nothing duplicated).
Exits 1 when something was lost, duplicated or refused.

With --store postgres://USER:PASSWORD@HOST:PORT/DB the collectors keep their store in a fresh
schema of that PostgreSQL database (dropped afterwards unless --keep), and --collectors N (default
2 with PostgreSQL) collectors share it: the agents are split between them, one custos-loadgen
per collector, and the figures are summed (rates) or listed per collector (latencies, CPU, RSS).
Needs `psql` to create the schema and count the rows.
"""
import argparse, json, os, random, socket, sqlite3, subprocess, sys, tempfile, threading, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from procstat import cpu_seconds, hwm_kb  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--agents", type=int, default=1000)
ap.add_argument("--rate", type=int, default=50, help="findings per second per agent")
ap.add_argument("--batch", type=int, default=50)
ap.add_argument("--seconds", type=int, default=20)
ap.add_argument("--bin", default="target/release")
ap.add_argument("--store", default="", help="postgres://… URL; default: SQLite in the collector's data_dir")
ap.add_argument("--collectors", type=int, default=0, help="collectors sharing the store (default 1, or 2 with --store)")
ap.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema of the run")
a = ap.parse_args()
pg = a.store.startswith(("postgres://", "postgresql://"))
if a.store and not pg:
    sys.exit("--store must be a postgres:// URL")
ncoll = a.collectors or (2 if pg else 1)
if ncoll > 1 and not pg:
    sys.exit("several collectors need a shared store: pass --store postgres://…")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = a.bin if os.path.isabs(a.bin) else os.path.join(ROOT, a.bin)
tmp = tempfile.mkdtemp(prefix="custos-load-")
data = os.path.join(tmp, "pki-data")
subprocess.run([f"{BIN}/custos-collector", "quickstart", "--once", "--data-dir", data, "--examples", os.path.join(ROOT, "examples")],
               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
pki = os.path.join(data, "pki")
run = f"r{random.randrange(16**8):08x}"
schema = f"load_{run}"
def psql(sql):
    return subprocess.run(["psql", a.store, "-tAc", sql], check=True, capture_output=True, text=True).stdout.strip()
store_line = ""
if pg:
    psql(f"CREATE SCHEMA {schema}")
    url = a.store + ("&" if "?" in a.store else "?") + f"options=-c%20search_path%3D{schema}"
    store_line = f'store = "{url}"\n'

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

colls = []
for i in range(ncoll):
    port = free_port()
    cfg = os.path.join(tmp, f"collector{i}.toml")
    with open(cfg, "w") as f:
        f.write(f'listen = "127.0.0.1:{port}"\ndata_dir = "cdata{i}"\nregister = "{ROOT}/examples/register.toml"\n{store_line}'
                f'[tls]\nca = "{pki}/ca.pem"\ncert = "{pki}/collector.pem"\nkey = "{pki}/collector.key"\n')
    p = subprocess.Popen([f"{BIN}/custos-collector", "run", "--config", cfg],
                         env=dict(os.environ, RUST_LOG="warn"), stderr=open(os.path.join(tmp, f"collector{i}.stderr"), "w"))
    colls.append((p, port))
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)


cpu0, t0 = [cpu_seconds(p.pid) for p, _ in colls], time.time()
gens = []
for i, (_, port) in enumerate(colls):
    agents = a.agents // ncoll + (1 if i < a.agents % ncoll else 0)
    gens.append(subprocess.Popen([f"{BIN}/custos-loadgen", "--url", f"https://127.0.0.1:{port}", "--ca", f"{pki}/ca.pem", "--ca-key", f"{pki}/ca.key",
                                  "--agents", str(agents), "--rate", str(a.rate), "--batch", str(a.batch), "--seconds", str(a.seconds), "--run", f"{run}c{i}"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
outs = [g.communicate() for g in gens]
cpu1, t1 = [cpu_seconds(p.pid) for p, _ in colls], time.time()
rss = [hwm_kb(p.pid) for p, _ in colls]
for p, _ in colls:
    p.terminate(); p.wait()
results = []
for out, err in outs:
    try:
        results.append(json.loads(out.strip().splitlines()[-1]))
    except (IndexError, json.JSONDecodeError):
        sys.exit(f"custos-loadgen failed: {err[-2000:]}")
if pg:
    stored = int(psql(f"SELECT COUNT(*) FROM {schema}.findings WHERE id LIKE '{run}%'"))
    if not a.keep:
        psql(f"DROP SCHEMA {schema} CASCADE")
else:
    db = sqlite3.connect(os.path.join(tmp, "cdata0", "custos.db"))
    stored = db.execute("SELECT COUNT(*) FROM findings WHERE id LIKE ?", (run + "%",)).fetchone()[0]
res = dict(results[0]) if ncoll == 1 else {
    "store": "postgresql", "collectors": ncoll,
    "sent": sum(r["sent"] for r in results), "acked": sum(r["acked"] for r in results), "errors": sum(r["errors"] for r in results),
    # The loadgens run side by side for the same time: their rates add up.
    "acked_per_s": round(sum(r["acked_per_s"] for r in results)),
    "per_collector": results,
}
if ncoll == 1 and pg:
    res["store"] = "postgresql"
res.update({
    "stored": stored, "lost": res["sent"] - stored, "duplicated": max(0, stored - res["sent"]),
    # The loadgen's wall time includes a 2 s start delay and the TLS handshakes before it.
    "collector_cpu_pct_of_one_core": [round(100 * (c1 - c0) / (t1 - t0), 1) for c0, c1 in zip(cpu0, cpu1)],
    "collector_peak_rss_mb": [round(r / 1024, 1) for r in rss],
})
print(json.dumps(res))
sys.exit(0 if stored == res["sent"] == res["acked"] and res["errors"] == 0 else 1)
