#!/usr/bin/env python3
"""Syslog receiver throughput: messages/s the agent reads over TCP, scans and spools.

usage: bench/syslog_receive.py [--messages 200000] [--pii-every 10] [--bin target/release]

Starts a real collector and a real agent (mutual TLS on loopback, certificates made by
`custos-collector quickstart`) with a `[[syslog]] listen = "tcp://…"` listener, sends
--messages RFC 5424 messages (octet-counted, ~125 bytes; one in --pii-every carries an e-mail
address) over one TCP connection as fast as the agent takes them, then prints:
  * messages/s from the first byte sent to the agent having read them all (its
    `custos_agent_lines_read_total`), and MB/s;
  * the agent's CPU seconds per 100,000 messages and its peak RSS (VmHWM);
  * and checks that every personal-data message was stored exactly once.
"""
import argparse, os, random, socket, sqlite3, subprocess, sys, tempfile, time, urllib.request
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from procstat import cpu_seconds, hwm_kb  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--messages", type=int, default=200000)
ap.add_argument("--pii-every", type=int, default=10)
ap.add_argument("--bin", default="target/release")
a = ap.parse_args()

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, a.bin)
tmp = tempfile.mkdtemp(prefix="custos-bench-syslog-")
data = os.path.join(tmp, "data")
subprocess.run([f"{BIN}/custos-collector", "quickstart", "--once", "--data-dir", data, "--examples", os.path.join(ROOT, "examples")],
               check=True, stdout=subprocess.DEVNULL)
os.remove(os.path.join(data, "custos.db"))
pki = os.path.join(data, "pki")
base = 18000 + random.randint(0, 899)
port, syslog_port, metrics_port = base, base + 1, base + 2
with open(os.path.join(tmp, "collector.toml"), "w") as f:
    f.write(f'listen = "127.0.0.1:{port}"\ndata_dir = "cdata"\nregister = "{ROOT}/examples/register.toml"\n'
            f'[tls]\nca = "{pki}/ca.pem"\ncert = "{pki}/collector.pem"\nkey = "{pki}/collector.key"\n')
with open(os.path.join(tmp, "agent.toml"), "w") as f:
    f.write(f'agent_id = "quickstart-agent"\ndata_dir = "adata"\n[collector]\nurl = "https://127.0.0.1:{port}"\nserver_name = "localhost"\n'
            f'ca = "{pki}/ca.pem"\ncert = "{pki}/agents/quickstart-agent.pem"\nkey = "{pki}/agents/quickstart-agent.key"\n'
            f'[fingerprint]\nkey_file = "{data}/fingerprint.key"\n[metrics]\nlisten = "127.0.0.1:{metrics_port}"\n'
            f'[[syslog]]\nlisten = "tcp://127.0.0.1:{syslog_port}"\n')

env = dict(os.environ, RUST_LOG="warn")
coll = subprocess.Popen([f"{BIN}/custos-collector", "run", "--config", os.path.join(tmp, "collector.toml")], env=env)
time.sleep(1.0)
agent = subprocess.Popen([f"{BIN}/custos-agent", "run", "--config", os.path.join(tmp, "agent.toml")], env=env)


def metric(name):
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
    except OSError:
        return None
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", syslog_port), timeout=1).close()
        break
    except OSError:
        time.sleep(0.1)
while metric("custos_agent_lines_read_total") is None:
    time.sleep(0.1)


def message(i):
    text = f"order {i} paid by client{i}@example.com" if i % a.pii_every == 0 else f"order {i} shipped, parcel 7{i:09d}, 3 items, total 42.{i % 100:02d} EUR"
    m = f"<165>1 2026-12-07T03:00:00.{i % 1000:03d}Z shop-01 shop {4000 + i % 100} ORDER - {text}".encode()
    return str(len(m)).encode() + b" " + m


payload = b"".join(message(i) for i in range(a.messages))
cpu0, t0 = cpu_seconds(agent.pid), time.time()
with socket.create_connection(("127.0.0.1", syslog_port)) as s:
    s.sendall(payload)
while (metric("custos_agent_lines_read_total") or 0) < a.messages:
    time.sleep(0.05)
elapsed, cpu = time.time() - t0, cpu_seconds(agent.pid) - cpu0
expected = len(range(0, a.messages, a.pii_every))
db = os.path.join(tmp, "cdata", "custos.db")
deadline = time.time() + 120
stored = 0
while time.time() < deadline:
    try:
        stored = sqlite3.connect(db, timeout=5).execute("SELECT COUNT(*) FROM findings").fetchone()[0]
    except sqlite3.Error:
        stored = 0
    if stored >= expected:
        break
    time.sleep(0.2)
time.sleep(1.0)
stored = sqlite3.connect(db, timeout=5).execute("SELECT COUNT(*) FROM findings").fetchone()[0]
print(f"{a.messages} messages ({len(payload) / 1e6:.1f} MB) over TCP in {elapsed:.2f} s: "
      f"{a.messages / elapsed:,.0f} messages/s, {len(payload) / 1e6 / elapsed:.1f} MB/s")
print(f"agent CPU {cpu / a.messages * 100000:.2f} s per 100,000 messages; peak RSS {hwm_kb(agent.pid) / 1024:.0f} MiB")
print(f"findings stored: {stored} of {expected} expected ({'exactly once' if stored == expected else 'MISMATCH'})")
agent.terminate()
coll.terminate()
agent.wait()
coll.wait()
sys.exit(0 if stored == expected else 1)
