// Custos console. Talks to /api/v1 only; builds the page with DOM calls (textContent, never
// innerHTML with data), so nothing the agents reported can run as script.
"use strict";

const state = { user: null, role: null, csrf: null };
const $ = (sel) => document.querySelector(sel);

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
  const res = await fetch("/api/v1" + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  if (res.status === 204) return null;
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    if (res.status === 401 && path !== "/session") showLogin();
    throw new ApiError(res.status, data.error || res.statusText);
  }
  return data;
}

function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "" && v !== undefined && v !== null) p.set(k, v);
  const s = p.toString();
  return s ? "?" + s : "";
}

// ---- the Art. 33 clock --------------------------------------------------------------------

function countdown(deadlineMs, open) {
  return h("span", { class: "countdown", "data-deadline": deadlineMs, "data-open": open ? "1" : "0" });
}

function tickCountdowns() {
  const now = Date.now();
  for (const el of document.querySelectorAll("[data-deadline]")) {
    const left = Number(el.dataset.deadline) - now;
    if (el.dataset.open !== "1") {
      el.textContent = "closed";
      el.className = "countdown closed";
      continue;
    }
    const abs = Math.abs(left);
    const hh = Math.floor(abs / 3600000), mm = Math.floor(abs / 60000) % 60, ss = Math.floor(abs / 1000) % 60;
    const text = `${hh}h ${String(mm).padStart(2, "0")}m ${String(ss).padStart(2, "0")}s`;
    el.textContent = left >= 0 ? text + " left" : "overdue by " + text;
    el.className = "countdown" + (left < 0 ? " overdue" : "");
  }
}
setInterval(tickCountdowns, 1000);

// ---- session ------------------------------------------------------------------------------

function showLogin() {
  state.user = state.role = state.csrf = null;
  $("#nav").hidden = true;
  $("#logout").hidden = true;
  $("#nav-password").hidden = true;
  $("#whoami").textContent = "";
  $("#view").replaceChildren();
  $("#login").reset();
  $("#login").hidden = false;
}

function loggedIn(s) {
  state.user = s.user; state.role = s.role; state.csrf = s.csrf;
  $("#login").hidden = true;
  $("#nav").hidden = false;
  $("#logout").hidden = false;
  $("#nav-password").hidden = false;
  $("#nav-audit").hidden = s.role !== "dpo";
  $("#nav-subjects").hidden = s.role !== "dpo";
  $("#whoami").textContent = `${s.user} (${s.role})`;
  route();
}

$("#login").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("#login-error").textContent = "";
  try {
    const s = await api("POST", "/session", { name: $("#login-name").value, password: $("#login-password").value });
    $("#login-password").value = "";
    loggedIn(s);
  } catch (err) {
    $("#login-error").textContent = err.message;
  }
});

$("#logout").addEventListener("click", async () => {
  try { await api("DELETE", "/session"); } catch (_) { /* the session may be gone already */ }
  location.hash = "#/incidents";
  showLogin();
});

// ---- routing ------------------------------------------------------------------------------

const pages = { incidents: incidentsPage, incident: incidentPage, findings: findingsPage, coverage: coveragePage, datamap: datamapPage, agents: agentsPage, mutes: mutesPage, kpis: kpisPage, audit: auditPage, subjects: subjectsPage, password: passwordPage };

async function route() {
  if (!state.user) return;
  const [, page = "incidents", arg] = (location.hash || "#/incidents").split("/");
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.page === page || (page === "incident" && a.dataset.page === "incidents"));
  const view = $("#view");
  view.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  try {
    await (pages[page] || incidentsPage)(view, arg);
  } catch (err) {
    view.replaceChildren(h("p", { class: "error", id: "page-error" }, err.message));
  }
  tickCountdowns();
}
window.addEventListener("hashchange", route);

function table(headers, rows, opts) {
  return h("table", opts || {}, h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))), h("tbody", {}, rows));
}

function pager(page, onMove) {
  const last = page.offset + page.items.length;
  return h("div", { class: "pager" },
    h("span", { class: "muted" }, `${page.total ? page.offset + 1 : 0}–${last} of ${page.total}`),
    h("button", { class: "secondary", type: "button", disabled: page.offset === 0, onclick: () => onMove(Math.max(0, page.offset - page.limit)) }, "Previous"),
    h("button", { class: "secondary", type: "button", disabled: last >= page.total, onclick: () => onMove(page.offset + page.limit) }, "Next"));
}

function select(id, label, options, value) {
  return h("label", {}, label, h("select", { id }, h("option", { value: "" }, "any"), options.map((o) => h("option", { value: o, selected: o === value }, o))));
}

// ---- incidents ----------------------------------------------------------------------------

const RULES = ["export_anomaly", "exposed_place", "undeclared_system", "undeclared_category", "retention_exceeded", "unallowed_location"];
const KINDS = { breach: "Possible breaches", compliance: "Compliance items" };

async function incidentsPage(view) {
  const f = incidentsPage.filters || (incidentsPage.filters = { kind: "breach", status: "open", severity: "", rule: "", category: "", system: "", offset: 0 });
  const list = await api("GET", "/incidents" + qs({ ...f, limit: 50 }));
  const apply = () => {
    Object.assign(f, { status: $("#f-status").value, severity: $("#f-severity").value, rule: $("#f-rule").value, category: $("#f-category").value, system: $("#f-system").value, offset: 0 });
    route();
  };
  const breach = f.kind === "breach";
  const rows = list.items.map((v) => h("tr", { class: "clickable", "data-id": v.id, "data-kind": v.kind, onclick: () => { location.hash = `#/incident/${v.id}`; } },
    h("td", {}, "#" + v.id),
    h("td", { class: "sev-" + v.severity }, v.severity),
    h("td", { class: "status" }, v.status),
    h("td", {}, v.rule),
    h("td", { class: "wrap" }, v.system),
    h("td", {}, v.categories.join(", ")),
    h("td", {}, String(v.subjects.value)),
    h("td", {}, String(v.records_estimate.value)),
    h("td", {}, breach ? countdown(v.deadline_ms, v.open) : h("span", { title: v.due }, dueText(v)))));
  const tabs = h("div", { class: "tabs", role: "tablist" }, Object.entries(KINDS).map(([k, label]) =>
    h("button", { type: "button", role: "tab", id: "tab-" + k, class: k === f.kind ? "tab active" : "tab", "aria-selected": k === f.kind ? "true" : "false", onclick: () => { Object.assign(f, { kind: k, offset: 0, rule: "" }); route(); } }, label)));
  view.replaceChildren(
    h("h1", {}, "Incidents"),
    tabs,
    h("p", { class: "muted", id: "kind-help" }, breach
      ? "Possible personal-data breaches: the Art. 33 clock runs from awareness (72 hours to notify the supervisory authority)."
      : "Register gaps and retention overdue: no Art. 33 clock, a due date to fix them. Promote one to a breach when personal data was exposed or accessed without authority."),
    h("div", { class: "filters" },
      select("f-status", "Status", ["open", "new", "triaged", "assessed", "notified", "not_notifiable", "resolved"], f.status),
      select("f-severity", "Severity", ["low", "medium", "high", "critical"], f.severity),
      select("f-rule", "Rule", RULES, f.rule),
      h("label", {}, "Category", h("input", { id: "f-category", value: f.category, size: 12 })),
      h("label", {}, "System contains", h("input", { id: "f-system", value: f.system, size: 24 })),
      h("button", { type: "button", id: "f-apply", onclick: apply }, "Filter")),
    list.items.length ? table(["Id", "Severity", "Status", "Rule", "System", "Categories", "Subjects (est.)", "Records (est.)", breach ? "Art. 33 deadline" : "Due"], rows, { id: "incident-table" })
      : h("p", { class: "muted", id: "no-incidents" }, "No incident matches."),
    pager(list, (o) => { f.offset = o; route(); }));
}

function dueText(v) {
  if (!v.due_ms) return "—";
  const days = Math.round((v.due_ms - Date.now()) / 86400000);
  return days >= 0 ? `in ${days} days` : `${-days} days late`;
}

const ACTION_LABELS = { triaged: "Mark triaged", assessed: "Mark assessed", notified: "Mark notified", not_notifiable: "Not notifiable", resolved: "Mark resolved" };
const NOTE_KINDS = ["facts", "effects", "remedial", "measures", "consequences", "discovery", "cross_border", "follow_up", "late_reason", "art34_how"];

async function incidentPage(view, id) {
  const [v, timeline, notes] = await Promise.all([api("GET", `/incidents/${id}`), api("GET", `/incidents/${id}/timeline`), api("GET", `/incidents/${id}/notes`)]);
  const breach = v.kind === "breach";
  const message = h("p", { class: "error", id: "action-error", role: "alert" });
  const run = async (method, path, body) => {
    message.textContent = "";
    try {
      await api(method, path, body);
      route();
    } catch (err) {
      message.textContent = err.message;
    }
  };
  const note = h("textarea", { id: "action-note", placeholder: breach ? "Note (required for not notifiable: why the breach is unlikely to result in a risk)" : "Note (required to resolve: what was fixed)" });
  const reference = h("input", { id: "action-reference", placeholder: "Authority's reference (when notified)", size: 28 });
  const statusActions = v.actions.length
    ? h("div", { class: "actions" }, note, breach && v.actions.includes("notified") ? reference : null,
      v.actions.map((a) => h("button", { type: "button", id: "action-" + a, class: a === "not_notifiable" ? "secondary" : "", onclick: () => run("POST", `/incidents/${id}/status`, { status: a, note: note.value, reference: reference.value }) }, ACTION_LABELS[a] || a)))
    : h("p", { class: "muted", id: "no-actions" }, v.open ? `Your role (${state.role}) has no status change at this step (${v.status}).` : "This incident is closed.");
  const d = v.decisions || [];
  const kindChange = d.includes("promote") || d.includes("demote")
    ? h("div", { class: "actions" },
      d.includes("promote")
        ? h("button", { type: "button", id: "action-promote", onclick: () => run("POST", `/incidents/${id}/kind`, { kind: "breach", note: note.value }) }, "Promote to a possible breach (starts the Art. 33 clock)")
        : h("button", { type: "button", id: "action-demote", class: "secondary", onclick: () => run("POST", `/incidents/${id}/kind`, { kind: "compliance", note: note.value }) }, "Demote to a compliance item (needs a note)"))
    : null;
  const estSubjects = h("input", { id: "dpo-subjects", type: "number", min: 0, placeholder: "subjects", size: 10 });
  const estRecords = h("input", { id: "dpo-records", type: "number", min: 0, placeholder: "records", size: 10 });
  const estNote = h("input", { id: "dpo-note", placeholder: "how you counted", size: 30 });
  const num = (el) => el.value === "" ? null : Number(el.value);
  const estimate = d.includes("estimate")
    ? h("div", { class: "actions", id: "estimate-form" }, h("strong", {}, "DPO estimate:"), estSubjects, estRecords, estNote,
      h("button", { type: "button", id: "action-estimate", onclick: () => run("POST", `/incidents/${id}/estimate`, { subjects: num(estSubjects), records: num(estRecords), note: estNote.value }) }, "Record"))
    : null;
  const noteKind = h("select", { id: "note-kind" }, NOTE_KINDS.map((k) => h("option", { value: k }, k.replace("_", " "))));
  const noteText = h("input", { id: "note-text", placeholder: "facts, effects, remedial action, a follow-up…", size: 40 });
  const noteRef = h("input", { id: "note-reference", placeholder: "reference (follow-ups)", size: 16 });
  const addNote = d.includes("note")
    ? h("div", { class: "actions", id: "note-form" }, h("strong", {}, "Note:"), noteKind, noteText, noteRef,
      h("button", { type: "button", class: "secondary", id: "action-note-add", onclick: () => run("POST", `/incidents/${id}/notes`, { kind: noteKind.value, text: noteText.value, reference: noteRef.value }) }, "Add"))
    : null;
  const a34 = h("select", { id: "art34-decision" }, ["communicate", "not_required", "public_communication"].map((k) => h("option", { value: k }, k.replace("_", " "))));
  const a34Reason = h("input", { id: "art34-reason", placeholder: "why", size: 40 });
  const art34 = d.includes("art34")
    ? h("div", { class: "actions", id: "art34-form" }, h("strong", {}, "Art. 34 (tell the people?):"), a34, a34Reason,
      h("button", { type: "button", class: "secondary", id: "action-art34", onclick: () => run("POST", `/incidents/${id}/art34`, { decision: a34.value, reason: a34Reason.value }) }, "Record"))
    : null;
  const decisionPanel = h("div", { class: "panel", id: "actions" }, h("h2", {}, "Decision"), statusActions, kindChange, estimate, addNote, art34, message);
  const evidenceBox = h("div", { id: "evidence" }, h("button", { type: "button", class: "secondary", id: "show-evidence", onclick: () => showEvidence(id, evidenceBox) }, "Show evidence (recorded in the audit trail)"));
  const est = v.dpo_estimate;
  view.replaceChildren(
    h("h1", { class: "wrap" }, `Incident #${v.id}: ${v.rule} on ${v.system}`),
    h("p", { id: "incident-kind", class: breach ? "kind breach" : "kind compliance" }, breach ? "Possible personal-data breach — Art. 33 clock" : "Compliance item — register gap, no Art. 33 clock"),
    h("div", { class: "cards" },
      card("Status", h("span", { id: "incident-status" }, v.status)),
      card("Severity", h("span", { class: "sev-" + v.severity }, v.severity)),
      breach ? card("Art. 33 deadline", countdown(v.deadline_ms, v.open), v.deadline) : card("Due", dueText(v), v.due),
      card("Data subjects (estimate)", h("span", { id: "subjects-value" }, String(v.subjects.value)), `${v.subjects.low === v.subjects.high ? "" : `range ${v.subjects.low}–${v.subjects.high}; `}${v.subjects.method}`),
      card("Records (estimate)", String(v.records_estimate.value), v.records_estimate.method),
      card("DPO estimate", h("span", { id: "dpo-estimate" }, est ? `${est.subjects ?? "—"} subjects, ${est.records ?? "—"} records` : "—"), est ? est.note : "not set"),
      card("Categories", v.categories.join(", ") || "—")),
    h("div", { class: "panel" }, h("h2", {}, "Why"), h("pre", { id: "explanation" }, v.explanation), v.justification ? h("p", {}, "Justification: " + v.justification) : null,
      v.systems && v.systems.length > 1 ? h("p", { class: "wrap" }, "Places: " + v.systems.join(", ")) : null),
    decisionPanel,
    h("div", { class: "panel" }, h("h2", {}, breach ? "Art. 33 notification draft" : "Report"),
      h("a", { href: `/api/v1/incidents/${id}/report?format=md`, id: "report-md" }, "Download (Markdown)"), " · ",
      h("a", { href: `/api/v1/incidents/${id}/report?format=json`, id: "report-json" }, "Download (JSON)")),
    h("div", { class: "panel" }, h("h2", {}, "Register entries involved"),
      v.register_entries.length ? table(["Activity", "Purpose", "Legal basis", "Categories", "Retention"], v.register_entries.map((a) => h("tr", {},
        h("td", {}, `${a.name} (${a.id})`), h("td", {}, a.purpose), h("td", {}, a.legal_basis),
        h("td", {}, [...(a.data_categories || []), ...(a.special_categories || [])].join(", ")), h("td", {}, a.retention || "—"))))
        : h("p", { class: "muted" }, "No activity of the register covers this system.")),
    h("div", { class: "panel" }, h("h2", {}, "Evidence"), evidenceBox),
    notes.items.length ? h("div", { class: "panel" }, h("h2", {}, "Notes"), h("ul", { id: "notes" }, notes.items.map((n) => h("li", { "data-kind": n.kind }, h("strong", {}, n.kind), ` — ${n.at} by ${n.actor}: ${n.text}`, n.reference ? ` (reference ${n.reference})` : "")))) : null,
    h("div", { class: "panel" }, h("h2", {}, "Timeline"), timelineChart(timeline.items),
      h("ol", { id: "timeline" }, timeline.items.map((t) => h("li", { "data-kind": t.kind }, h("strong", {}, t.kind), ` — ${t.at} by ${t.actor}`, t.note ? `: ${t.note}` : "")))));
}

// The incident's events over time, drawn as an SVG strip (one mark per event, coloured by who).
function timelineChart(items) {
  const NS = "http://www.w3.org/2000/svg";
  const svg = (tag, attrs) => { const el = document.createElementNS(NS, tag); for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v); return el; };
  const width = 800, height = 70, pad = 20;
  const chart = svg("svg", { id: "timeline-chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "Incident events over time" });
  if (!items.length) return chart;
  const t0 = items[0].at_ms, t1 = Math.max(items[items.length - 1].at_ms, t0 + 1);
  const x = (t) => pad + (width - 2 * pad) * (t - t0) / (t1 - t0);
  chart.append(svg("line", { x1: pad, y1: 40, x2: width - pad, y2: 40, stroke: "#d9dde5", "stroke-width": 2 }));
  items.forEach((t, i) => {
    const c = svg("circle", { cx: x(t.at_ms), cy: 40, r: 6, fill: t.actor === "custos" ? "#b3261e" : "#1f5fbf", class: "event", "data-kind": t.kind });
    const title = svg("title", {}); title.textContent = `${t.kind} — ${t.at} by ${t.actor}`; c.append(title);
    chart.append(c);
    const label = svg("text", { x: x(t.at_ms), y: i % 2 ? 62 : 24, "text-anchor": "middle", "font-size": 11, fill: "#5d6677" }); label.textContent = t.kind;
    chart.append(label);
  });
  return chart;
}

function card(label, value, sub) {
  return h("div", { class: "card" }, h("div", { class: "label" }, label), h("div", { class: "value" }, value), sub ? h("div", { class: "muted" }, sub) : null);
}

async function showEvidence(id, box) {
  const ev = await api("GET", `/incidents/${id}/evidence`);
  box.replaceChildren(table(["Detector", "Category", "Preview (masked)", "Source", "Position", "Agent", "Observed", "Details"], ev.items.map((e) => h("tr", {},
    h("td", {}, e.detector), h("td", {}, e.category), h("td", {}, h("code", {}, e.preview)), h("td", {}, `${e.host}:${e.locator}`), h("td", {}, e.at),
    h("td", {}, e.agent_id), h("td", {}, e.observed_at), h("td", {}, Object.entries(e.evidence).map(([k, val]) => `${k}=${val}`).join(" ")))), { id: "evidence-table" }));
}

// ---- findings -----------------------------------------------------------------------------

async function findingsPage(view) {
  const f = findingsPage.filters || (findingsPage.filters = { detector: "", category: "", host: "", agent: "", system: "", kind: "", since: "", until: "", offset: 0 });
  const q = { detector: f.detector, category: f.category, host: f.host, agent: f.agent, system: f.system, kind: f.kind, since: f.since, until: f.until };
  const [facets, page, counts] = await Promise.all([api("GET", "/findings/facets"), api("GET", "/findings" + qs({ ...q, offset: f.offset, limit: 50 })), api("GET", "/findings/counts" + qs(q))]);
  const apply = () => {
    Object.assign(f, { detector: $("#ff-detector").value, category: $("#ff-category").value, host: $("#ff-host").value, agent: $("#ff-agent").value, system: $("#ff-system").value, kind: $("#ff-kind").value, since: $("#ff-since").value, until: $("#ff-until").value, offset: 0 });
    route();
  };
  const max = Math.max(1, ...counts.items.map((c) => c.count));
  view.replaceChildren(
    h("h1", {}, "Findings"),
    h("div", { class: "filters" },
      select("ff-detector", "Detector", facets.detectors, f.detector),
      select("ff-category", "Category", facets.categories, f.category),
      select("ff-host", "Host", facets.hosts, f.host),
      select("ff-agent", "Agent", facets.agents, f.agent),
      h("label", {}, "System contains", h("input", { id: "ff-system", value: f.system, size: 24 })),
      select("ff-kind", "Kind", ["personal_data", "export_anomaly"], f.kind),
      h("label", {}, "Since", h("input", { id: "ff-since", type: "date", value: f.since })),
      h("label", {}, "Until", h("input", { id: "ff-until", type: "date", value: f.until })),
      h("button", { type: "button", id: "ff-apply", onclick: apply }, "Filter")),
    h("h2", {}, "Findings per day"),
    h("div", { class: "bars", id: "finding-counts" }, counts.items.map((c) => h("div", { title: `${c.day}: ${c.count}`, style: null, "data-height": Math.round((c.count / max) * 100) }))),
    h("h2", {}, `Findings (${page.total})`),
    table(["Received", "Detector", "Category", "Preview (masked)", "Host", "Source", "Position", "Agent", "Confidence"], page.items.map((x) => h("tr", {},
      h("td", {}, x.received_at), h("td", {}, x.detector), h("td", {}, x.category), h("td", {}, h("code", {}, x.preview)), h("td", {}, x.host),
      h("td", {}, x.locator), h("td", {}, x.at), h("td", {}, x.agent_id), h("td", {}, x.confidence.toFixed(2)))), { id: "finding-table" }),
    pager(page, (o) => { f.offset = o; route(); }));
  // Heights set through the CSSOM: the style-src policy forbids inline style attributes.
  for (const bar of document.querySelectorAll("#finding-counts div")) bar.style.height = bar.dataset.height + "%";
}

// ---- coverage -----------------------------------------------------------------------------

async function coveragePage(view) {
  const c = await api("GET", "/coverage");
  view.replaceChildren(
    h("h1", {}, "Register coverage"),
    h("p", { class: "muted" }, `Register: ${c.register} — ${c.systems_seen} of ${c.systems_declared} declared systems seen by an agent.`),
    h("h2", {}, `Undeclared stores (${c.undeclared_stores.length})`),
    c.undeclared_stores.length ? table(["Host", "Place", "Categories", "Agent", ""], c.undeclared_stores.map((s, i) => {
      const draft = h("pre", { id: "draft-" + i, hidden: true }, s.draft_entry);
      return h("tr", {}, h("td", {}, s.host), h("td", {}, s.locator, draft), h("td", {}, s.categories.join(", ")), h("td", {}, s.agent_id),
        h("td", {}, h("button", { type: "button", class: "secondary", id: "draft-button-" + i, onclick: () => { draft.hidden = !draft.hidden; } }, "Draft register entry")));
    }), { id: "undeclared-table" }) : h("p", { class: "muted" }, "None: every place with personal data is declared."),
    h("h2", {}, `Declared systems never seen (${c.unseen_systems.length})`),
    h("ul", { id: "unseen" }, c.unseen_systems.map((s) => h("li", {}, s))),
    h("h2", {}, "Activities"),
    table(["Activity", "Categories", "Systems"], c.activities.map((a) => h("tr", {},
      h("td", {}, `${a.name} (${a.id})`), h("td", {}, a.categories.join(", ")),
      h("td", {}, a.systems.map((s) => h("div", { class: s.seen ? "seen" : "unseen" }, (s.seen ? "✓ " : "○ ") + s.system)))))));
}

// ---- data map -----------------------------------------------------------------------------

// Systems x categories, each cell coloured by the system's estimated people (log scale), drawn
// as SVG so that it can be saved as is for a DPIA.
function heatMap(rows) {
  const cats = [...new Set(rows.flatMap((r) => r.categories))].sort();
  const ns = "http://www.w3.org/2000/svg";
  const cell = 34, left = 360, top = 120;
  const svg = document.createElementNS(ns, "svg");
  const width = left + cats.length * cell + 10, height = top + rows.length * cell + 10;
  for (const [k, v] of Object.entries({ id: "heatmap", xmlns: ns, width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "Data map: systems by categories of personal data, coloured by estimated people" })) svg.setAttribute(k, v);
  const el = (tag, attrs, text) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    svg.appendChild(e);
    return e;
  };
  el("rect", { x: 0, y: 0, width, height, fill: "#fff" });
  const max = Math.max(1, ...rows.map((r) => r.subjects));
  cats.forEach((c, j) => el("text", { x: left + j * cell + cell / 2, y: top - 6, transform: `rotate(-45 ${left + j * cell + cell / 2} ${top - 6})`, "font-size": 11, "font-family": "sans-serif" }, c));
  rows.forEach((r, i) => {
    const y = top + i * cell;
    const label = r.system.length > 58 ? "…" + r.system.slice(-57) : r.system;
    el("text", { x: left - 6, y: y + cell / 2 + 4, "text-anchor": "end", "font-size": 11, "font-family": "sans-serif" }, label);
    cats.forEach((c, j) => {
      const has = r.categories.includes(c);
      const t = has ? Math.log10(1 + r.subjects) / Math.log10(1 + max) : 0;
      const fill = has ? `hsl(${(1 - t) * 50}, 85%, ${75 - t * 35}%)` : "#f1f3f7";
      const rect = el("rect", { x: left + j * cell + 1, y: y + 1, width: cell - 2, height: cell - 2, fill, class: has ? "cell on" : "cell", "data-category": c, "data-system": r.system });
      if (has) {
        const tip = document.createElementNS(ns, "title");
        tip.textContent = `${r.system}: ${c}, about ${r.subjects} people, ${r.records} records (${r.activity})`;
        rect.appendChild(tip);
      }
    });
  });
  return svg;
}

async function datamapPage(view) {
  const { items, flows = [] } = await api("GET", "/datamap");
  const pick = (id, label, values) => h("label", {}, label + " ", h("select", { id }, h("option", { value: "" }, "all"), [...new Set(values)].sort().map((v) => h("option", { value: v }, v || "unknown"))));
  const filters = h("div", { class: "actions" },
    pick("map-activity", "Activity", items.map((r) => r.activity)),
    pick("map-country", "Country", items.map((r) => r.country)),
    pick("map-category", "Category", items.flatMap((r) => r.categories)));
  const holder = h("div", { id: "heatmap-holder", class: "wrap" });
  const list = h("div", {});
  const save = h("a", { id: "heatmap-svg", class: "button secondary", download: "custos-data-map.svg", href: "#" }, "Save as SVG");
  const draw = () => {
    const [a, c, k] = ["#map-activity", "#map-country", "#map-category"].map((s) => $(s).value);
    const rows = items.filter((r) => (!a || r.activity === a) && (!c || r.country === c) && (!k || r.categories.includes(k)));
    const svg = heatMap(rows);
    holder.replaceChildren(svg);
    save.href = URL.createObjectURL(new Blob([new XMLSerializer().serializeToString(svg)], { type: "image/svg+xml" }));
    list.replaceChildren(table(["Activity", "System", "Categories", "People", "Records", "Retention", "Country", "Last seen"], rows.map((r) => h("tr", {},
      h("td", {}, r.activity), h("td", { class: "wrap" }, r.system),
      h("td", {}, r.categories.join(", ") + (r.undeclared_categories.length ? ` (undeclared: ${r.undeclared_categories.join(", ")})` : "")),
      h("td", { title: r.method }, String(r.subjects)), h("td", { title: r.method }, String(r.records)), h("td", {}, r.retention), h("td", {}, r.country || "—"), h("td", {}, r.last_seen))), { id: "datamap-table" }));
  };
  view.replaceChildren(
    h("h1", {}, "Data map"),
    h("p", { class: "muted" }, "What personal data agents saw, where, about how many people (estimates; hover a figure for its method). Colour: estimated people, log scale. * marks special categories."),
    filters, save, holder, list,
    h("h2", {}, "Flows to recipients"),
    h("p", { class: "muted" }, "Personal data agents saw sent in outbound requests (egress logs), by sending system and destination host, beside the register's recipients and processors."),
    flows.length ? table(["System", "Destination", "Recipient", "Country", "Safeguard", "Status", "Categories", "Findings", "People", "Last seen"], flows.map((f) => h("tr", {},
      h("td", { class: "wrap" }, f.system), h("td", {}, f.destination), h("td", {}, f.recipient + (f.role ? ` (${f.role})` : "")), h("td", {}, f.country || "—"),
      h("td", {}, f.safeguard || "—"), h("td", { class: f.status === "declared" ? "" : "unseen" }, f.status), h("td", {}, f.categories.join(", ")),
      h("td", {}, String(f.findings)), h("td", {}, String(f.subjects)), h("td", {}, f.last_seen))), { id: "flows-table" })
      : h("p", { class: "muted", id: "flows-none" }, "No personal data seen in outbound requests (watch egress logs with detect = [\"egress\"])."));
  for (const id of ["#map-activity", "#map-country", "#map-category"]) $(id).addEventListener("change", draw);
  draw();
}

// ---- subject requests (DPO) ---------------------------------------------------------------

async function subjectsPage(view) {
  const message = h("p", { id: "subject-message", role: "status" });
  const results = h("div", { id: "subject-results" });
  const fail = (err) => { message.className = "error"; message.textContent = err.message; };
  const show = (answer) => {
    results.replaceChildren(...answer.items.map((it) => h("div", { class: "panel subject", "data-fingerprint": it.fingerprint },
      h("h2", {}, h("code", {}, it.fingerprint)),
      it.sightings.length
        ? table(["System", "Detector", "Category", "Findings", "First seen", "Last seen"], it.sightings.map((s) => h("tr", {},
          h("td", { class: "wrap" }, s.system), h("td", {}, s.detector), h("td", {}, s.category), h("td", {}, String(s.findings)), h("td", {}, s.first_seen), h("td", {}, s.last_seen))), { class: "sightings" })
        : h("p", { class: "muted" }, "Not seen anywhere agents report from."),
      it.erasure
        ? h("p", { class: "notice erasure" }, `Erased at ${it.erasure.erased_at} (request ${it.erasure.request}, recorded by ${it.erasure.recorded_by}): any of their data seen later opens a breach.`)
        : h("div", { class: "actions" },
          h("input", { class: "erase-request", placeholder: "request reference, e.g. DSR-2026-17" }),
          h("input", { class: "erase-at", placeholder: "erased at (RFC 3339) or now", value: "now" }),
          h("button", { type: "button", class: "danger erase", onclick: async (e) => {
            const box = e.target.closest(".subject");
            try {
              show(await api("POST", "/subjects/erasure", { fingerprint: it.fingerprint, erased_at: box.querySelector(".erase-at").value, request: box.querySelector(".erase-request").value }));
              message.className = "notice"; message.textContent = "Erasure recorded (audited).";
            } catch (err) { fail(err); }
          } }, "Record erasure")))));
  };
  const look = async () => {
    message.textContent = "";
    const fingerprints = $("#subject-fingerprints").value.split(/[\s,;]+/).filter((f) => f);
    try { show(await api("POST", "/subjects/lookup", { fingerprints })); } catch (err) { fail(err); }
  };
  view.replaceChildren(
    h("h1", {}, "Subject request"),
    h("p", { class: "muted" }, "Access (Art. 15) and erasure (Art. 17) requests by keyed fingerprint: compute it on an agent's host with `custos-agent fingerprint --detector email` (the value never leaves that host), paste one or more here. Every lookup and erasure is recorded in the audit trail."),
    h("textarea", { id: "subject-fingerprints", rows: "3", cols: "70", placeholder: "fingerprints, one per line" }),
    h("div", { class: "actions" }, h("button", { type: "button", id: "subject-lookup", onclick: look }, "Look up")),
    message, results);
}

// ---- agents -------------------------------------------------------------------------------

async function agentsPage(view) {
  const list = await api("GET", "/agents");
  const message = h("p", { id: "agent-message", role: "status" });
  const revoke = async (id) => {
    const reason = prompt(`Why revoke agent ${id}?`);
    if (!reason) return;
    try { await api("POST", `/agents/${encodeURIComponent(id)}/revoke`, { reason }); route(); } catch (err) { message.textContent = err.message; message.className = "error"; }
  };
  const enrol = async () => {
    try {
      const r = await api("POST", "/enrollments", { agent_id: $("#enrol-id").value, ttl_seconds: 3600 });
      message.className = "notice";
      message.replaceChildren("One-time token for ", h("code", {}, r.agent_id), " (valid until " + r.expires_at + ", shown once): ", h("code", { id: "enrol-token" }, r.token));
    } catch (err) { message.textContent = err.message; message.className = "error"; }
  };
  const now = Date.now();
  view.replaceChildren(
    h("h1", {}, "Agents"),
    table(["Agent", "Host", "Version", "Last seen", "Spool depth", "Refused findings", "State", ""], list.items.map((a) => h("tr", {},
      h("td", {}, a.agent_id), h("td", {}, a.host), h("td", {}, a.version),
      h("td", { class: now - a.last_seen_ms > 86400000 ? "unseen" : "" }, a.last_seen),
      h("td", {}, String(a.spool_depth)), h("td", { class: a.refused_findings > 0 ? "unseen" : "" }, String(a.refused_findings)), h("td", {}, a.revoked ? `revoked: ${a.revocation_reason}` : "active"),
      h("td", {}, list.can_manage && !a.revoked ? h("button", { type: "button", class: "danger", onclick: () => revoke(a.agent_id) }, "Revoke") : ""))), { id: "agent-table" }),
    list.can_manage ? h("div", { class: "panel" }, h("h2", {}, "Enrol an agent"), h("div", { class: "actions" }, h("input", { id: "enrol-id", placeholder: "agent id" }), h("button", { type: "button", id: "enrol-button", onclick: enrol }, "Issue enrolment token"))) : null,
    message);
}

// ---- mutes --------------------------------------------------------------------------------

async function mutesPage(view) {
  const list = await api("GET", "/mutes");
  const message = h("p", { class: "error", id: "mute-message", role: "alert" });
  const add = async () => {
    try { await api("POST", "/mutes", { rule: $("#mute-rule").value, system: $("#mute-system").value, reason: $("#mute-reason").value }); route(); } catch (err) { message.textContent = err.message; }
  };
  const lift = async (m) => {
    try { await api("DELETE", "/mutes", { rule: m.rule, system: m.system, reason: "lifted in the console" }); route(); } catch (err) { message.textContent = err.message; }
  };
  view.replaceChildren(
    h("h1", {}, "Mutes"),
    h("p", { class: "muted" }, "A muted rule keeps its verdicts for a system but opens no incident. Every change is in the audit trail."),
    table(["Rule", "System", "Reason", "By", "At", ""], list.items.map((m) => h("tr", {}, h("td", {}, m.rule), h("td", {}, m.system), h("td", {}, m.reason), h("td", {}, m.muted_by), h("td", {}, m.at),
      h("td", {}, list.can_edit ? h("button", { type: "button", class: "secondary", onclick: () => lift(m) }, "Lift") : "")))),
    list.can_edit ? h("div", { class: "panel" }, h("h2", {}, "Mute a rule for a system"), h("div", { class: "filters" },
      select("mute-rule", "Rule", RULES, ""), h("label", {}, "System (host:locator)", h("input", { id: "mute-system", size: 40 })), h("label", {}, "Reason", h("input", { id: "mute-reason", size: 40 })),
      h("button", { type: "button", id: "mute-add", onclick: add }, "Mute"))) : null,
    message);
}

// ---- own password -------------------------------------------------------------------------

async function passwordPage(view) {
  const message = h("p", { class: "error", id: "password-message", role: "alert" });
  const change = async (e) => {
    e.preventDefault();
    message.textContent = "";
    if ($("#password-new").value !== $("#password-again").value) {
      message.textContent = "the two new passwords differ";
      return;
    }
    try {
      await api("POST", "/session/password", { current: $("#password-current").value, new: $("#password-new").value });
      location.hash = "#/incidents";
      showLogin();
      $("#login-error").textContent = "Password changed: log in with the new one.";
    } catch (err) {
      message.textContent = err.message;
    }
  };
  view.replaceChildren(
    h("h1", {}, "Change your password"),
    h("p", { class: "muted" }, "Every session of yours ends, this one included; API tokens stay valid."),
    h("form", { id: "password-form", class: "panel", onsubmit: change },
      h("label", {}, "Current password", h("input", { id: "password-current", type: "password", autocomplete: "current-password", required: true })),
      h("label", {}, "New password", h("input", { id: "password-new", type: "password", autocomplete: "new-password", required: true })),
      h("label", {}, "Again", h("input", { id: "password-again", type: "password", autocomplete: "new-password", required: true })),
      h("button", { type: "submit", id: "password-submit" }, "Change")),
    message);
}

// ---- KPIs and audit -----------------------------------------------------------------------

async function kpisPage(view) {
  const k = await api("GET", "/kpis");
  const pct = (x) => (x === null || x === undefined ? "—" : Math.round(x * 1000) / 10 + " %");
  const hours = (d) => (d.median_hours === null ? "—" : `${d.median_hours} h`);
  const max = Math.max(1, ...k.findings_per_week.map((w) => w.count));
  view.replaceChildren(
    h("h1", {}, "Indicators"),
    h("div", { class: "cards", id: "kpis" },
      card("Detection → assessment (median)", hours(k.time_to_assessment), `${k.time_to_assessment.count} incidents, mean ${k.time_to_assessment.mean_hours ?? "—"} h`),
      card("Detection → notification (median)", hours(k.time_to_notification), `${k.time_to_notification.count} incidents`),
      card("Handled within 72 h", pct(k.share_within_72h), `${k.handled_within_72h} of ${k.due} due`),
      card("Declared systems covered by an agent", pct(k.share_systems_covered), `${k.systems_covered} of ${k.systems_declared}`),
      card("Open incidents", String(k.open_incidents), `${k.overdue_incidents} overdue, ${k.incidents} in total`)),
    h("h2", {}, "Findings per week"),
    table(["Week", "Findings", ""], k.findings_per_week.map((w) => h("tr", {}, h("td", {}, w.week), h("td", {}, String(w.count)), h("td", {}, h("meter", { min: 0, max, value: w.count }))))));
}

async function auditPage(view) {
  const f = auditPage.filters || (auditPage.filters = { offset: 0 });
  const page = await api("GET", "/audit" + qs({ offset: f.offset, limit: 100 }));
  view.replaceChildren(
    h("h1", {}, "Audit trail"),
    h("p", {}, h("a", { href: "/api/v1/audit.csv", id: "audit-export" }, "Export (CSV)")),
    table(["At", "Who", "Action", "Subject", "Detail"], page.items.map((e) => h("tr", {}, h("td", {}, e.at), h("td", {}, e.actor), h("td", {}, e.action), h("td", {}, e.subject), h("td", {}, e.detail))), { id: "audit-table" }),
    pager(page, (o) => { f.offset = o; route(); }));
}

// ---- start --------------------------------------------------------------------------------

api("GET", "/session").then(loggedIn).catch(showLogin);
