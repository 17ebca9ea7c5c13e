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
"""
import argparse, json, os, random, socket, sqlite3, subprocess, sys, tempfile, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--agents", type=int, default=1000)
ap.add_argument("--rate", type=int, default=50, help="findings per second per agent")
ap.add_argument("--batch", type=int, default=50)
ap.add_argument("--seconds", type=int, default=20)
ap.add_argument("--bin", default="target/release")
a = ap.parse_args()

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = a.bin if os.path.isabs(a.bin) else os.path.join(ROOT, a.bin)
tmp = tempfile.mkdtemp(prefix="custos-load-")
data = os.path.join(tmp, "pki-data")
subprocess.run([f"{BIN}/custos-collector", "quickstart", "--once", "--data-dir", data, "--examples", os.path.join(ROOT, "examples")],
               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
pki = os.path.join(data, "pki")
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
with open(os.path.join(tmp, "collector.toml"), "w") as f:
    f.write(f'listen = "127.0.0.1:{port}"\ndata_dir = "cdata"\nregister = "{ROOT}/examples/register.toml"\n'
            f'[tls]\nca = "{pki}/ca.pem"\ncert = "{pki}/collector.pem"\nkey = "{pki}/collector.key"\n')
coll = subprocess.Popen([f"{BIN}/custos-collector", "run", "--config", os.path.join(tmp, "collector.toml")],
                        env=dict(os.environ, RUST_LOG="warn"), stderr=open(os.path.join(tmp, "collector.stderr"), "w"))
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        break
    except OSError:
        time.sleep(0.1)

TICK = os.sysconf("SC_CLK_TCK")
def cpu_seconds(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICK
def hwm_kb(pid):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmHWM:"):
            return int(l.split()[1])

run = f"r{random.randrange(16**8):08x}"
cpu0, t0 = cpu_seconds(coll.pid), time.time()
gen = subprocess.run([f"{BIN}/custos-loadgen", "--url", f"https://127.0.0.1:{port}", "--ca", f"{pki}/ca.pem", "--ca-key", f"{pki}/ca.key",
                      "--agents", str(a.agents), "--rate", str(a.rate), "--batch", str(a.batch), "--seconds", str(a.seconds), "--run", run],
                     capture_output=True, text=True)
cpu1, t1 = cpu_seconds(coll.pid), time.time()
rss = hwm_kb(coll.pid)
coll.terminate(); coll.wait()
try:
    res = json.loads(gen.stdout.strip().splitlines()[-1])
except (IndexError, json.JSONDecodeError):
    sys.exit(f"custos-loadgen failed: {gen.stderr[-2000:]}")
db = sqlite3.connect(os.path.join(tmp, "cdata", "custos.db"))
stored = db.execute("SELECT COUNT(*) FROM findings WHERE id LIKE ?", (run + "-%",)).fetchone()[0]
res.update({
    "stored": stored, "lost": res["sent"] - stored, "duplicated": max(0, stored - res["sent"]),
    # The loadgen's wall time includes a 2 s start delay and the TLS handshakes before it.
    "collector_cpu_pct_of_one_core": round(100 * (cpu1 - cpu0) / (t1 - t0), 1), "collector_peak_rss_mb": round(rss / 1024, 1),
})
print(json.dumps(res))
sys.exit(0 if stored == res["sent"] == res["acked"] and res["errors"] == 0 else 1)
