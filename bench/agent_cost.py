#!/usr/bin/env python3
"""Agent cost and end-to-end latency while tailing a busy log.

usage: bench/agent_cost.py [--rate 10000] [--seconds 30] [--pii-every 10] [--bin target/release]

Starts a real collector and a real agent (release binaries, mutual TLS on loopback, certificates
made by `custos-collector quickstart`), writes realistic log lines at --rate lines/s for
--seconds (one line in --pii-every carries an e-mail address or a phone number), then prints:
  * the agent's CPU use in % of one core over the writing window (from /proc/PID/stat),
  * its peak RSS (VmHWM),
  * the latency from a line's write to its finding being stored by the collector (p50, p99),
  * and checks that every personal-data line was stored exactly once.
"""
import argparse, json, os, random, sqlite3, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from procstat import cpu_seconds, hwm_kb  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--rate", type=int, default=10000)
ap.add_argument("--seconds", type=int, default=30)
ap.add_argument("--pii-every", type=int, default=10)
ap.add_argument("--bin", default="target/release")
a = ap.parse_args()

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, a.bin)
tmp = tempfile.mkdtemp(prefix="custos-bench-")
data = os.path.join(tmp, "data")

# Certificates and fingerprint key, exactly as the quickstart makes them.
subprocess.run([f"{BIN}/custos-collector", "quickstart", "--once", "--data-dir", data, "--examples", os.path.join(ROOT, "examples")],
               check=True, stdout=subprocess.DEVNULL)
os.remove(os.path.join(data, "custos.db"))
pki = os.path.join(data, "pki")
port = 17000 + random.randint(0, 999)
os.makedirs(os.path.join(tmp, "logs"))
log = os.path.join(tmp, "logs", "access.log")
open(log, "w").close()
with open(os.path.join(tmp, "collector.toml"), "w") as f:
    f.write(f'listen = "127.0.0.1:{port}"\ndata_dir = "cdata"\nregister = "{ROOT}/examples/register.toml"\n'
            f'[tls]\nca = "{pki}/ca.pem"\ncert = "{pki}/collector.pem"\nkey = "{pki}/collector.key"\n')
with open(os.path.join(tmp, "agent.toml"), "w") as f:
    f.write(f'agent_id = "quickstart-agent"\ndata_dir = "adata"\n[collector]\nurl = "https://127.0.0.1:{port}"\nserver_name = "localhost"\n'
            f'ca = "{pki}/ca.pem"\ncert = "{pki}/agents/quickstart-agent.pem"\nkey = "{pki}/agents/quickstart-agent.key"\n'
            f'[fingerprint]\nkey_file = "{data}/fingerprint.key"\n[[log]]\npaths = ["{tmp}/logs/*.log"]\nread_from = "end"\n')

env = dict(os.environ, RUST_LOG="warn")
coll = subprocess.Popen([f"{BIN}/custos-collector", "run", "--config", os.path.join(tmp, "collector.toml")], env=env)
time.sleep(1.0)
agent = subprocess.Popen([f"{BIN}/custos-agent", "run", "--config", os.path.join(tmp, "agent.toml")], env=env)
time.sleep(1.5)


paths = ["/api/v1/orders", "/static/app.js", "/login", "/api/v1/cart", "/health", "/img/logo.png"]
agents = ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0", "curl/8.5.0", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2) Safari/604.1"]
def make_line(i):
    ip = f"10.{i % 250}.{(i // 250) % 250}.{i % 200 + 1}"
    base = f'{ip} - - [25/Nov/2026:10:00:00 +0000] "GET {paths[i % len(paths)]}?id={i * 7919 % 100000} HTTP/1.1" 200 {i % 5000 + 200} "-" "{agents[i % 3]}" rt=0.0{i % 90 + 10}'
    if i % a.pii_every == 0:
        base += f" user=client{i}@example.com" if (i // a.pii_every) % 2 == 0 else f" tel=+33 6 {i % 90 + 10:02d} {i // 7 % 90 + 10:02d} {i // 3 % 90 + 10:02d} {i % 89 + 10:02d}"
    return base + "\n"

written_at = {}  # line number (1-based) -> ms
n = 0
step = 0.01
per_step = max(1, a.rate // 100)
cpu0, t0 = cpu_seconds(agent.pid), time.time()
with open(log, "a") as f:
    next_t = time.time()
    while time.time() - t0 < a.seconds:
        chunk = []
        for _ in range(per_step):
            chunk.append(make_line(n))
            n += 1
        f.write("".join(chunk)); f.flush()
        now_ms = int(time.time() * 1000)
        for k in range(n - per_step, n):
            if k % a.pii_every == 0:
                written_at[k + 1] = now_ms
        next_t += step
        time.sleep(max(0, next_t - time.time()))
cpu1, t1 = cpu_seconds(agent.pid), time.time()
expected = len(written_at)
db = os.path.join(tmp, "cdata", "custos.db")
deadline = time.time() + 60
got = 0
while time.time() < deadline:
    try:
        got = sqlite3.connect(db).execute("SELECT COUNT(*) FROM findings").fetchone()[0]
    except sqlite3.Error:
        pass
    if got >= expected:
        break
    time.sleep(0.2)
rss = hwm_kb(agent.pid)
rows = sqlite3.connect(db).execute("SELECT line, received_at FROM findings").fetchall()
agent.terminate(); coll.terminate(); agent.wait(); coll.wait()
lat = sorted(r - written_at[l] for l, r in rows if l in written_at)
per_line = {}
for l, _ in rows:
    per_line[l] = per_line.get(l, 0) + 1
def pct(p):
    return lat[min(len(lat) - 1, int(p * len(lat)))] if lat else None
res = {
    "lines_written": n, "rate_lines_per_s": round(n / (t1 - t0)), "pii_lines": expected, "findings_stored": len(rows),
    "lost": expected - len(per_line), "duplicated": sum(c - 1 for c in per_line.values()),
    "agent_cpu_pct_of_one_core": round(100 * (cpu1 - cpu0) / (t1 - t0), 2), "agent_peak_rss_mb": round(rss / 1024, 1),
    "latency_ms_p50": pct(0.50), "latency_ms_p99": pct(0.99), "latency_ms_max": lat[-1] if lat else None,
}
print(json.dumps(res))
sys.exit(0 if res["lost"] == 0 and res["duplicated"] == 0 else 1)
