#!/usr/bin/env python3
"""Checks the Grafana dashboard examples/grafana/custos.json against the agent's metrics.

The metric names are read from agent/src/metrics.rs and agent/src/syslog/counters.rs (the registry prefix, each
`r.register("name", …, m.field.clone())` and the field's type), with the suffixes the
prometheus-client crate writes: `_total` for a Counter, `_bucket`/`_sum`/`_count` for a
Histogram, none for a Gauge. Then every PromQL expression of the dashboard (panel targets and
query variables) must name only metrics that exist, every agent metric must appear in some panel,
and the dashboard must hold together: schemaVersion, a Prometheus data-source variable that the
panels use, unique panel ids. The collector has no metrics (nothing in collector/src registers
any); should it get some, a `custos_collector_` name in the dashboard fails until this script
reads them too.

When promtool (Debian: prometheus) is installed, every expression, with Grafana's variables
replaced by sample values, is also parsed by `promtool check rules`, Prometheus' own PromQL
parser; without it that step is skipped with a note. Standard library only. Exit 1 on any
problem.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "examples" / "grafana" / "custos.json"
METRICS_RS = ROOT / "agent" / "src" / "metrics.rs"
SYSLOG_RS = ROOT / "agent" / "src" / "syslog" / "counters.rs"

SUFFIXES = {"Counter": ["_total"], "Gauge": [""], "Histogram": ["_bucket", "_sum", "_count"]}

# PromQL words that are not metric names.
PROMQL_WORDS = {
    # aggregations and their modifiers
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
    "quantile", "limitk", "limit_ratio", "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "and", "or", "unless", "offset", "atan2",
    # functions
    "abs", "absent", "absent_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min",
    "day_of_month", "day_of_week", "day_of_year", "days_in_month", "delta", "deriv", "exp", "floor",
    "histogram_avg", "histogram_count", "histogram_fraction", "histogram_quantile", "histogram_stddev",
    "histogram_stdvar", "histogram_sum", "holt_winters", "double_exponential_smoothing", "hour", "idelta",
    "increase", "irate", "label_join", "label_replace", "ln", "log2", "log10", "minute", "month",
    "predict_linear", "rate", "resets", "round", "scalar", "sgn", "sort", "sort_desc", "sort_by_label",
    "sort_by_label_desc", "sqrt", "time", "timestamp", "vector", "year", "avg_over_time", "min_over_time",
    "max_over_time", "sum_over_time", "count_over_time", "quantile_over_time", "stddev_over_time",
    "stdvar_over_time", "last_over_time", "present_over_time", "mad_over_time", "acos", "acosh", "asin",
    "asinh", "atan", "atanh", "cos", "cosh", "sin", "sinh", "tan", "tanh", "deg", "rad", "pi",
    # Grafana's variable query function
    "label_values", "query_result", "metrics", "label_names",
    # numbers spelled out
    "inf", "nan",
}

problems: list[str] = []


def registrations(path: Path, struct_name: str, receiver: str) -> list[tuple[str, str, str]]:
    """(name, field, type) of each `r.register("name", …, RECEIVER.field.clone())` in `path`, the
    type read from `pub field: Type` in `pub struct STRUCT_NAME` (a `Family<Labels, Counter>` is
    a Counter series per label set)."""
    src = path.read_text()
    struct = re.search(r"pub struct " + struct_name + r"\s*\{(.*?)^\}", src, re.S | re.M)
    types = {f: (inner or outer) for f, outer, inner in re.findall(r"pub (\w+)\s*:\s*(\w+)(?:<\s*\w+\s*,\s*(\w+)\s*>)?", struct.group(1))} if struct else {}
    pattern = r'\.register\(\s*"([^"]+)"\s*,\s*"[^"]*"\s*,\s*' + receiver + r'\.(\w+)\.clone\(\)'
    return [(name, field, types.get(field)) for name, field in re.findall(pattern, src)]


def agent_metrics() -> dict[str, str]:
    """Exposed series name -> Rust field, from metrics.rs and the sources' own counters it
    registers (SYSLOG_RS)."""
    src = METRICS_RS.read_text()
    prefix = re.search(r'Registry::with_prefix\("([^"]+)"\)', src)
    if not prefix:
        sys.exit(f"check_grafana: no Registry::with_prefix(...) in {METRICS_RS}")
    names: dict[str, str] = {}
    found = registrations(METRICS_RS, "Metrics", "m") + registrations(SYSLOG_RS, "SyslogMetrics", "self")
    for name, field, kind in found:
        if kind not in SUFFIXES:
            sys.exit(f"check_grafana: metric {name} has type {kind}, unknown to this script")
        for suffix in SUFFIXES[kind]:
            names[f"{prefix.group(1)}_{name}{suffix}"] = field
    if not names:
        sys.exit(f"check_grafana: no metric registered in {METRICS_RS}")
    return names


def metric_names_in(expr: str) -> list[str]:
    """The metric names an expression reads (identifiers that are not PromQL words or labels)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)          # strings
    e = re.sub(r"\{[^}]*\}", "", e)                                            # label matchers
    # Grafana's label_values(metric, label) / label_values(label): the label is no metric.
    e = re.sub(r"\blabel_values\(\s*([^,()]*?)\s*(?:,\s*\w+\s*)?\)", lambda m: m.group(1) if "," in m.group(0) else "", e)
    e = re.sub(r"\[[^\]]*\]", "", e)                                           # ranges
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1", e)  # label lists
    e = re.sub(r"\$\{?\w+\}?", "", e)                                          # Grafana variables
    e = re.sub(r"(?<![\w.])\d+(\.\d+)?(e[+-]?\d+)?", "", e, flags=re.I)        # numbers
    return [w for w in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", e) if w.lower() not in PROMQL_WORDS]


def promql_syntax(exprs: list[tuple[str, str]]) -> None:
    """Parses every expression with promtool, as recording rules."""
    promtool = shutil.which("promtool")
    if promtool is None:
        print("note check_grafana: promtool is not installed (Debian: prometheus): PromQL syntax not checked", file=sys.stderr)
        return
    samples = {"__rate_interval": "2m", "__interval": "1m", "__range": "6h", "instance": ".*"}
    rules = []
    for i, (where, expr) in enumerate(exprs):
        if where.startswith("variable"):
            m = re.fullmatch(r"\s*label_values\((.*),\s*\w+\s*\)\s*", expr)
            if not m:
                continue
            expr = m.group(1)
        expr = re.sub(r"\$\{?(\w+)\}?", lambda m: samples.get(m.group(1), "x"), expr)
        rules.append((where, f"custos:check:{i}", expr))
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
        f.write("groups:\n  - name: dashboard\n    rules:\n")
        for _, record, expr in rules:
            f.write(f"      - record: {record}\n        expr: {json.dumps(expr)}\n")
        f.flush()
        r = subprocess.run([promtool, "check", "rules", f.name], capture_output=True, text=True)
    if r.returncode != 0:
        out = r.stdout + r.stderr
        by_record = {record: f"{where}: {expr}" for where, record, expr in rules}
        out = re.sub(r'"(custos:check:\d+)"', lambda m: f'"{m.group(1)}" ({by_record.get(m.group(1), "?")})', out)
        problems.append(f"promtool check rules: {out.strip()}")
    else:
        print(f"ok   PromQL syntax of {len(rules)} expressions ({promtool} check rules)")


def all_panels(panels: list) -> list:
    out = []
    for p in panels:
        out.append(p)
        out.extend(all_panels(p.get("panels") or []))
    return out


def main() -> int:
    known = agent_metrics()
    try:
        dash = json.loads(DASHBOARD.read_text())
    except (OSError, json.JSONDecodeError) as e:
        print(f"FAIL {DASHBOARD}: {e}", file=sys.stderr)
        return 1

    if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < 36:
        problems.append(f"schemaVersion {dash.get('schemaVersion')!r}: expected an integer >= 36")
    for key in ("title", "uid", "panels", "templating"):
        if key not in dash:
            problems.append(f"no `{key}`")
    variables = {v.get("name"): v for v in (dash.get("templating") or {}).get("list") or []}
    ds_vars = {n for n, v in variables.items() if v.get("type") == "datasource" and v.get("query") == "prometheus"}
    if not ds_vars:
        problems.append("no Prometheus data-source variable (templating: type datasource, query prometheus)")

    exprs: list[tuple[str, str]] = []
    for name, v in variables.items():
        if v.get("type") == "query":
            q = v.get("query")
            q = q.get("query") if isinstance(q, dict) else q
            exprs.append((f"variable ${name}", q or ""))
            ds = (v.get("datasource") or {}).get("uid", "")
            if ds.strip("${}") not in ds_vars:
                problems.append(f"variable ${name}: datasource {ds!r} is not the data-source variable")

    ids = set()
    for p in all_panels(dash.get("panels") or []):
        where = f"panel {p.get('id')} \"{p.get('title')}\""
        if p.get("id") in ids:
            problems.append(f"{where}: duplicate id")
        ids.add(p.get("id"))
        if "gridPos" not in p:
            problems.append(f"{where}: no gridPos")
        if p.get("type") in ("row", "text"):
            continue
        if not p.get("targets"):
            problems.append(f"{where}: no query")
        for t in [p] + (p.get("targets") or []):
            ds = (t.get("datasource") or {}).get("uid", "")
            if ds.strip("${}") not in ds_vars:
                problems.append(f"{where}: datasource {ds!r} is not the data-source variable")
        for t in p.get("targets") or []:
            exprs.append((f"{where} query {t.get('refId')}", t.get("expr") or ""))

    used = set()
    for where, expr in exprs:
        if expr.count("(") != expr.count(")") or expr.count("{") != expr.count("}"):
            problems.append(f"{where}: unbalanced brackets in {expr}")
        names = metric_names_in(expr)
        if not names:
            problems.append(f"{where}: reads no metric: {expr}")
        for n in names:
            if n in known:
                used.add(n)
            else:
                problems.append(f"{where}: {n} is not a metric of {METRICS_RS.relative_to(ROOT)} (expression: {expr})")
    # Each metric shown somewhere (a histogram counts when any of its series is).
    for field in sorted(set(known.values())):
        if not any(known[n] == field for n in used):
            series = ", ".join(n for n, f in known.items() if f == field)
            problems.append(f"no panel shows {series}")

    promql_syntax(exprs)

    if problems:
        for p in problems:
            print(f"FAIL {DASHBOARD.relative_to(ROOT)}: {p}", file=sys.stderr)
        return 1
    print(f"check_grafana: passed ({len(exprs)} expressions, {len(used)} of {len(known)} series names used, "
          f"{len(set(known.values()))} of {len(set(known.values()))} agent metrics shown)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
