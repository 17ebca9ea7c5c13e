"""Writes collector/src/web/assets/openapi.json, the OpenAPI 3.1 description of the console API.

Edit the routes here when the API changes, run `python3 scripts/openapi.py`, commit both; the
collector test `the_openapi_document_lists_exactly_the_routes_served` checks the two agree.
"""
import json, os
def ref(n): return {"$ref": f"#/components/schemas/{n}"}
def q(name, desc, typ="string", enum=None):
    s={"type":typ}
    if enum: s["enum"]=enum
    return {"name":name,"in":"query","required":False,"description":desc,"schema":s}
def idp(desc="Incident id", typ="integer"): return {"name":"id","in":"path","required":True,"description":desc,"schema":{"type":typ}}
paging=[q("offset","First item (default 0)","integer"), q("limit","Items per page (default 50, at most 500)","integer")]
def ok(desc, schema=None, ctype="application/json"):
    r={"description":desc}
    if schema is not None: r["content"]={ctype:{"schema":schema}}
    return r
errs={"401":{"$ref":"#/components/responses/Unauthenticated"},"403":{"$ref":"#/components/responses/Forbidden"}}
def op(summary, perm, responses, params=None, body=None, write=False, public=False):
    o={"summary":summary,"description":f"Role: {perm}." + (" State-changing: needs `X-CSRF-Token` with a session cookie." if write else ""),"responses":dict(responses)}
    if not public: o["responses"].update(errs)
    if params: o["parameters"]=params
    if body: o["requestBody"]={"required":True,"content":{"application/json":{"schema":body}}}
    if public: o["security"]=[]
    return o
def page(item): return {"type":"object","required":["items","total","offset","limit"],"properties":{"items":{"type":"array","items":item},"total":{"type":"integer"},"offset":{"type":"integer"},"limit":{"type":"integer"}}}
def items(item): return {"type":"object","properties":{"items":{"type":"array","items":item}}}
obj=lambda props, req=None: {"type":"object","properties":props, **({"required":req} if req else {})}
S={"type":"string"}; I={"type":"integer"}; B={"type":"boolean"}; N={"type":"number"}; SA={"type":"array","items":S}
finding_filters=[q("detector","Detector id"),q("category","GDPR data category"),q("host","Host"),q("agent","Agent id"),q("system","Part of host:locator (a path, a table)"),q("kind","Finding kind",enum=["personal_data","export_anomaly"]),q("since","Received at or after: YYYY-MM-DD, RFC 3339 or ms"),q("until","Received before: YYYY-MM-DD, RFC 3339 or ms")]
paths={
 "/session":{
  "get":op("Who is logged in, with the CSRF token of the session","any role",{"200":ok("The session",ref("Session"))}),
  "post":op("Log in: checks the password, opens a session (Set-Cookie custos_session, HttpOnly, Secure, SameSite=Strict)","public; rate limited per user name and client address",
     {"200":ok("Logged in",ref("Session")),"401":ok("Wrong user name or password",ref("Error")),"429":ok("Too many failed logins (Retry-After)",ref("Error"))},body=obj({"name":S,"password":S},["name","password"]),public=True),
  "delete":op("Log out","any role",{"204":ok("Session ended, cookie cleared")},write=True)},
 "/session/password":{
  "post":op("Change one's own password: the current one is checked like a login (a wrong one counts towards the rate limit); every session of the user ends, this one included","any role, from a console session (not an API token)",
     {"204":ok("Changed; sessions ended, cookie cleared"),"400":ok("The new password does not meet the policy",ref("Error")),"429":ok("Too many failed logins (Retry-After)",ref("Error"))},body=obj({"current":S,"new":S},["current","new"]),write=True)},
 "/incidents":{"get":op("Incidents, newest first: breaches with the Art. 33 clock, compliance items with their due date","any role",{"200":ok("A page of incidents",page(ref("Incident")))},
   params=[q("kind","breach (possible personal-data breach) or compliance (register gap)",enum=["breach","compliance"]),q("status","Workflow status, or `open`",enum=["open","new","triaged","assessed","notified","not_notifiable","resolved"]),q("severity","Severity",enum=["low","medium","high","critical"]),q("rule","Rule id"),q("category","Category involved"),q("system","Substring of the system")]+paging)},
 "/incidents/{id}":{"get":op("One incident, the register entries involved and the status changes the caller may make (`actions`)","any role",{"200":ok("The incident",ref("Incident")),"404":ok("No such incident",ref("Error"))},params=[idp()])},
 "/incidents/{id}/evidence":{"get":op("The findings behind an incident (masked previews, never values); the view is recorded in the audit trail","any role",{"200":ok("Evidence",items(ref("Evidence"))),"404":ok("No such incident",ref("Error"))},params=[idp()])},
 "/incidents/{id}/timeline":{"get":op("The incident's timeline, oldest first","any role",{"200":ok("Timeline",items(ref("TimelineEntry"))),"404":ok("No such incident",ref("Error"))},params=[idp()])},
 "/incidents/{id}/status":{"post":op("Move the incident along the workflow: triaged (security), assessed / notified / not_notifiable (dpo; not_notifiable needs a note of at least 10 characters; notified may carry the authority's reference), or resolved for a compliance item (dpo, with a note)","security for triaged, dpo for the others",
   {"200":ok("The incident after the change",ref("Incident")),"404":ok("No such incident",ref("Error")),"409":ok("Not allowed by the workflow at this step",ref("Error")),"422":ok("Unknown status or note too long",ref("Error"))},
   params=[idp()],body=obj({"status":{"type":"string","enum":["triaged","assessed","notified","not_notifiable","resolved"]},"note":S,"reference":S},["status"]),write=True)},
 "/incidents/{id}/kind":{"post":op("Promote a compliance item to a possible breach (awareness and the Art. 33 clock start now) or demote a breach to a compliance item (needs a justification); audited","dpo",
   {"200":ok("The incident after the change",ref("Incident")),"404":ok("No such incident",ref("Error")),"409":ok("Not allowed now (closed, already that kind, no justification)",ref("Error")),"422":ok("Unknown kind",ref("Error"))},
   params=[idp()],body=obj({"kind":{"type":"string","enum":["breach","compliance"]},"note":S},["kind"]),write=True)},
 "/incidents/{id}/estimate":{"post":op("The DPO's own estimate of the data subjects and records concerned, shown beside Custos' figures; audited","dpo",
   {"200":ok("The incident after the change",ref("Incident")),"404":ok("No such incident",ref("Error")),"422":ok("No figure, or no note saying how it was counted",ref("Error"))},
   params=[idp()],body=obj({"subjects":I,"records":I,"note":S},["note"]),write=True)},
 "/incidents/{id}/notes":{
  "get":op("The notes of an incident (facts, effects, remedial action, follow-ups …), oldest first","any role",{"200":ok("Notes",obj({"items":{"type":"array","items":ref("Note")},"kinds":SA})),"404":ok("No such incident",ref("Error"))},params=[idp()]),
  "post":op("Add a note of one kind: it lands in its field of the Art. 33 draft and its column of the breach register; audited","security or dpo",
   {"200":ok("The incident after the change",ref("Incident")),"404":ok("No such incident",ref("Error")),"422":ok("Unknown kind or empty text",ref("Error"))},
   params=[idp()],body=obj({"kind":{"type":"string","enum":["facts","effects","remedial","measures","consequences","discovery","cross_border","follow_up","late_reason","art34_how"]},"text":S,"reference":S},["kind","text"]),write=True)},
 "/incidents/{id}/art34":{"post":op("The Art. 34 decision: communicate the breach to the data subjects, or not, and why; audited","dpo",
   {"200":ok("The incident after the change",ref("Incident")),"404":ok("No such incident",ref("Error")),"422":ok("Unknown decision or no reason",ref("Error"))},
   params=[idp()],body=obj({"decision":{"type":"string","enum":["communicate","not_required","public_communication"]},"reason":S},["decision","reason"]),write=True)},
 "/incidents/{id}/report":{"get":op("Download the Art. 33 notification draft (adds `draft` to the timeline the first time)","any role",
   {"200":{"description":"The draft as an attachment","content":{"text/markdown":{"schema":S},"application/json":{"schema":{"type":"object"}}}},"404":ok("No such incident",ref("Error"))},params=[idp(),q("format","md (default) or json",enum=["md","json"])])},
 "/findings":{"get":op("Findings, newest first (masked previews)","any role",{"200":ok("A page of findings",page(ref("Finding"))),"422":ok("Bad filter",ref("Error"))},params=finding_filters+paging)},
 "/findings/counts":{"get":op("Findings per day (UTC), including those already folded into daily counts by retention","any role",{"200":ok("Counts",items(obj({"day":S,"count":I})))},params=finding_filters)},
 "/findings/facets":{"get":op("Values seen per filterable field","any role",{"200":ok("Facets",obj({"detectors":SA,"categories":SA,"hosts":SA,"agents":SA}))})},
 "/coverage":{"get":op("Register coverage: activities and their systems, undeclared stores with a draft register entry, declared systems never seen","any role",{"200":ok("Coverage",ref("Coverage"))})},
 "/datamap":{"get":op("The data map: every system where agents saw personal data, by register activity, with categories (fideslang too), people and records with their method, retention, country, first and last seen","any role",{"200":ok("Data map",obj({"items":{"type":"array","items":obj({"activity":S,"system":S,"host":S,"locator":S,"categories":SA,"fides_categories":SA,"undeclared_categories":SA,"subjects":I,"records":I,"method":S,"retention":S,"country":S,"first_seen":S,"last_seen":S,"agents":SA,"change":S,"kind":S})},"flows":{"type":"array","items":ref("Flow")}}))})},
 "/subjects/lookup":{"post":op("A subject request (Art. 15): where the person with each fingerprint (from `custos-agent fingerprint`) was seen — systems, sources, detectors, counts, first and last seen — and their erasure if recorded. Every lookup is audited","dpo",{"200":ok("Per fingerprint",ref("SubjectLookup")),"422":ok("Not 1 to 20 fingerprints of 64 hex digits",ref("Error"))},body=obj({"fingerprints":SA},["fingerprints"]),write=True)},
 "/subjects/erasure":{"post":op("Record an erasure (Art. 17, audited): any data of the person observed after `erased_at` opens an `erased_subject_seen` breach","dpo",{"200":ok("The person's sightings and erasure",ref("SubjectLookup")),"422":ok("Bad fingerprint, time or reference",ref("Error"))},body=obj({"fingerprint":S,"erased_at":S,"request":S},["fingerprint","erased_at","request"]),write=True)},
 "/agents":{"get":op("Agent inventory","any role",{"200":ok("Agents",obj({"items":{"type":"array","items":ref("Agent")},"can_manage":B}))})},
 "/agents/{id}/revoke":{"post":op("Revoke an agent: refused at its next stream and batch","security",{"200":ok("Revoked",obj({"agent_id":S,"revoked":B,"already_revoked":B})),"422":ok("Bad agent id or no reason",ref("Error"))},params=[idp("Agent id","string")],body=obj({"reason":S},["reason"]),write=True)},
 "/enrollments":{"post":op("Issue a one-time enrolment token for an agent id (shown once)","security",{"200":ok("Token",obj({"agent_id":S,"token":S,"expires_at":S})),"422":ok("Bad agent id or validity",ref("Error"))},body=obj({"agent_id":S,"ttl_seconds":I},["agent_id"]),write=True)},
 "/mutes":{
  "get":op("Mutes in force","any role",{"200":ok("Mutes",obj({"items":{"type":"array","items":ref("Mute")},"can_edit":B}))}),
  "post":op("Mute a rule for a system (audited)","dpo",{"200":ok("Muted",obj({"muted":B})),"422":ok("Unknown rule, bad system or no reason",ref("Error"))},body=obj({"rule":S,"system":S,"reason":S},["rule","system","reason"]),write=True),
  "delete":op("Lift a mute (audited)","dpo",{"200":ok("Lifted",obj({"muted":B})),"404":ok("No such mute",ref("Error"))},body=obj({"rule":S,"system":S,"reason":S},["rule","system"]),write=True)},
 "/kpis":{"get":op("Shared DPO/CISO indicators","any role",{"200":ok("Indicators",ref("Kpis"))})},
 "/audit":{"get":op("The audit trail, newest first","dpo",{"200":ok("A page of entries",page(ref("AuditEntry")))},params=paging)},
 "/audit.csv":{"get":op("Export the whole audit trail as CSV (the export itself is audited)","dpo",{"200":ok("CSV",S,"text/csv")})},
 "/openapi.json":{"get":op("This document","public",{"200":ok("OpenAPI 3.1",{"type":"object"})},public=True)},
}
schemas={
 "Error":obj({"error":S},["error"]),
 "Session":obj({"user":S,"role":{"type":"string","enum":["dpo","security","viewer"]},"csrf":{"type":["string","null"]}},["user","role"]),
 "Estimate":obj({"value":I,"low":I,"high":I,"method":S}),
 "Incident":obj({"id":I,"kind":{"type":"string","enum":["breach","compliance"]},"rule":S,"severity":S,"status":S,"system":S,"systems":SA,"categories":SA,"findings":I,"distinct_subjects":I,"records":I,"subjects":ref("Estimate"),"records_estimate":ref("Estimate"),
   "dpo_estimate":{"type":["object","null"],"properties":{"subjects":{"type":["integer","null"]},"records":{"type":["integer","null"]},"note":S}},
   "detected_at":S,"detected_at_ms":I,"awareness_at":S,"awareness_at_ms":I,"deadline":{"type":["string","null"]},"deadline_ms":{"type":["integer","null"]},"due":{"type":["string","null"]},"due_ms":{"type":["integer","null"]},"last_seen_at":S,
   "seconds_left":I,"open":B,"overdue":B,"activities":SA,"explanation":S,"justification":S,"authority_reference":S,"art34":{"type":["object","null"],"properties":{"decision":S,"reason":S}},
   "actions":SA,"decisions":SA,"register_entries":{"type":"array","items":{"type":"object"}}}),
 "Note":obj({"at":S,"kind":S,"actor":S,"text":S,"reference":S}),
 "Evidence":obj({"id":S,"finding_id":S,"agent_id":S,"host":S,"locator":S,"at":S,"detector":S,"category":S,"special":B,"confidence":N,"preview":S,"kind":S,"evidence":{"type":"object","additionalProperties":S},"observed_at":S,"received_at":S}),
 "TimelineEntry":obj({"id":I,"incident_id":I,"at":S,"at_ms":I,"kind":S,"actor":S,"note":S}),
 "Finding":obj({"id":S,"finding_id":S,"agent_id":S,"host":S,"locator":S,"at":S,"detector":S,"category":S,"special":B,"confidence":N,"preview":S,"kind":S,"evidence":{"type":"object","additionalProperties":S},"observed_at":S,"received_at":S}),
 "Coverage":obj({"register":S,"activities":{"type":"array","items":obj({"id":S,"name":S,"categories":SA,"systems":{"type":"array","items":obj({"system":S,"seen":B})}})},
   "undeclared_stores":{"type":"array","items":obj({"agent_id":S,"host":S,"locator":S,"categories":SA,"draft_entry":S})},"unseen_systems":SA,"systems_declared":I,"systems_seen":I}),
 "Agent":obj({"agent_id":S,"host":S,"version":S,"first_seen":S,"last_seen":S,"last_seen_ms":I,"spool_depth":I,"refused_findings":I,"revoked":B,"revocation_reason":S}),
 "Mute":obj({"rule":S,"system":S,"reason":S,"muted_by":S,"at":S}),
 "Durations":obj({"count":I,"median_hours":{"type":["number","null"]},"mean_hours":{"type":["number","null"]}}),
 "Kpis":obj({"incidents":I,"open_incidents":I,"overdue_incidents":I,"time_to_assessment":ref("Durations"),"time_to_notification":ref("Durations"),"handled_within_72h":I,"due":I,"share_within_72h":{"type":["number","null"]},
   "systems_declared":I,"systems_covered":I,"share_systems_covered":{"type":["number","null"]},"findings_per_week":{"type":"array","items":obj({"week":S,"count":I})}}),
 "Flow":obj({"kind":S,"system":S,"host":S,"locator":S,"destination":S,"recipient":S,"role":S,"country":S,"safeguard":S,"status":{"type":"string","enum":["declared","undeclared","transfer without safeguard"]},"categories":SA,"fides_categories":SA,"findings":I,"subjects":I,"first_seen":S,"last_seen":S,"agents":SA}),
 "SubjectLookup":obj({"items":{"type":"array","items":obj({"fingerprint":S,"sightings":{"type":"array","items":obj({"host":S,"locator":S,"system":S,"detector":S,"category":S,"findings":I,"first_seen":S,"last_seen":S})},
   "erasure":{"type":["object","null"],"properties":{"erased_at":S,"erased_at_ms":I,"request":S,"recorded_by":S}}})}}),
 "AuditEntry":obj({"at":S,"actor":S,"action":S,"subject":S,"detail":S}),
}
doc={"openapi":"3.1.0","info":{"title":"Custos collector API","version":"1",
  "description":"The API behind the Custos console. Authenticate with the session cookie from POST /session (then send X-CSRF-Token on every state-changing request) or with an API token (`custos-collector user token NAME`) as `Authorization: Bearer <token>`. Roles: dpo, security, viewer; the server checks the role on every endpoint. Errors are {\"error\": message}. No endpoint ever returns a raw personal value: previews are masked."},
 "servers":[{"url":"/api/v1"}],
 "security":[{"session":[]},{"token":[]}],
 "paths":paths,
 "components":{"schemas":schemas,
   "securitySchemes":{"session":{"type":"apiKey","in":"cookie","name":"custos_session"},"token":{"type":"http","scheme":"bearer"}},
   "responses":{"Unauthenticated":ok("Not logged in, expired session or unknown token",ref("Error")),"Forbidden":ok("The role may not do this, or the CSRF token is missing or wrong",ref("Error"))}}}
open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "collector", "src", "web", "assets", "openapi.json"), "w").write(json.dumps(doc,indent=1,ensure_ascii=False)+"\n")
