#!/usr/bin/env node
// Checks of the chart's monitoring objects (scripts/lint-deploy.sh via
// helm/tests/rules.sh), on the output of `helm template` with them enabled:
//
//   check-monitoring.js rules RENDERED.yaml OUT_RULES.yaml TESTS.yaml
//     the one PrometheusRule: every alert has a severity (critical, warning,
//     info), summary, description and a runbook_url whose anchor is a heading
//     of docs/operations.md; every metric its expressions read is in the table
//     of docs/operations.md "Reading metrics"; every alert has, in the promtool
//     tests TESTS.yaml, a case where it fires and one where it stays quiet.
//     Writes spec.groups to OUT_RULES.yaml (a Prometheus rule file).
//   check-monitoring.js dashboards RENDERED.yaml DASHBOARD_DIR
//     every *.json of DASHBOARD_DIR parses, has a unique uid, and every query
//     (panel targets, template variables) reads only documented metrics; the
//     rendered ConfigMap carries the Grafana sidecar label and each file as is.
//
// Exit status 1 with one line per problem.
"use strict";
const fs = require("fs");
const path = require("path");
const root = path.join(__dirname, "..", "..");
const YAML = require(path.join(root, "tools", "node_modules", "yaml"));
const { documentedMetrics, allowedNames, metricNames } = require("./metric-names.js");

const opsDoc = path.join(root, "docs", "operations.md");
const errors = [];
const fail = (where, msg) => errors.push(`${where}: ${msg}`);

function renderedDocs(file) {
  return YAML.parseAllDocuments(fs.readFileSync(file, "utf8"))
    .map((d) => d.toJS())
    .filter((d) => d && typeof d === "object");
}

// GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.
function anchors(mdFile) {
  const out = new Set();
  for (const line of fs.readFileSync(mdFile, "utf8").split("\n")) {
    const m = /^#{1,6}\s+(.*?)\s*$/.exec(line);
    if (m) out.add(m[1].toLowerCase().replace(/[^\p{L}\p{N}_\- ]/gu, "").replace(/ /g, "-"));
  }
  return out;
}

function checkNames(where, expr, allowed) {
  for (const n of metricNames(expr))
    if (!allowed.has(n)) fail(where, `reads ${n}, which docs/operations.md "Reading metrics" does not list`);
}

function checkRules(rendered, outFile, testsFile) {
  const allowed = allowedNames(documentedMetrics(opsDoc));
  const headings = anchors(opsDoc);
  const rules = renderedDocs(rendered).filter((d) => d.kind === "PrometheusRule");
  if (rules.length !== 1) {
    fail(rendered, `${rules.length} PrometheusRule objects, expected 1`);
    return;
  }
  const pr = rules[0];
  if (pr.apiVersion !== "monitoring.coreos.com/v1") fail("PrometheusRule", `apiVersion ${pr.apiVersion}`);
  const groups = (pr.spec && pr.spec.groups) || [];
  if (groups.length === 0) fail("PrometheusRule", "no groups");
  const alerts = new Set();
  for (const g of groups) {
    if (!g.name || !Array.isArray(g.rules) || g.rules.length === 0) fail(`group ${g.name}`, "no name or no rules");
    for (const r of g.rules || []) {
      const where = `${g.name}/${r.alert || r.record}`;
      if (!r.expr) fail(where, "no expr");
      else checkNames(where, r.expr, allowed);
      if (!r.alert) continue;
      if (alerts.has(r.alert)) fail(where, "alert name used twice");
      alerts.add(r.alert);
      const sev = r.labels && r.labels.severity;
      if (!["critical", "warning", "info"].includes(sev)) fail(where, `severity "${sev}"`);
      const a = r.annotations || {};
      for (const k of ["summary", "description", "runbook_url"]) if (!a[k]) fail(where, `no ${k} annotation`);
      const m = /^https?:\/\/\S+\/docs\/operations\.md#([a-z0-9_-]+)$/.exec(a.runbook_url || "");
      if (!m) fail(where, `runbook_url "${a.runbook_url}" is not a docs/operations.md anchor`);
      else if (!headings.has(m[1])) fail(where, `runbook anchor #${m[1]} is no heading of docs/operations.md`);
    }
  }
  fs.writeFileSync(outFile, YAML.stringify({ groups }, { lineWidth: 0 }));

  // Every alert fires in some test case and stays quiet in another.
  const tests = YAML.parse(fs.readFileSync(testsFile, "utf8"));
  const fires = new Set();
  const quiet = new Set();
  for (const t of tests.tests || [])
    for (const c of t.alert_rule_test || []) {
      if (!alerts.has(c.alertname)) fail(testsFile, `tests ${c.alertname}, which no rule defines`);
      ((c.exp_alerts || []).length ? fires : quiet).add(c.alertname);
    }
  for (const a of alerts) {
    if (!fires.has(a)) fail(testsFile, `no case where ${a} fires`);
    if (!quiet.has(a)) fail(testsFile, `no case where ${a} stays quiet`);
  }
  if (errors.length === 0) console.log(`check-monitoring: ${alerts.size} alerts ok`);
}

function* panelsOf(list) {
  for (const p of list || []) {
    yield p;
    yield* panelsOf(p.panels); // collapsed rows hold their panels
  }
}

function checkDashboards(rendered, dir) {
  const allowed = allowedNames(documentedMetrics(opsDoc));
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
  if (files.length === 0) fail(dir, "no dashboards");
  const cms = renderedDocs(rendered).filter(
    (d) => d.kind === "ConfigMap" && d.metadata.labels && d.metadata.labels.grafana_dashboard === "1");
  if (cms.length !== 1) fail(rendered, `${cms.length} ConfigMaps labelled grafana_dashboard: "1", expected 1`);
  const uids = new Set();
  for (const f of files) {
    const text = fs.readFileSync(path.join(dir, f), "utf8");
    let d;
    try {
      d = JSON.parse(text);
    } catch (e) {
      fail(f, `not JSON: ${e.message}`);
      continue;
    }
    if (cms.length === 1 && (cms[0].data || {})[f] !== text) fail(f, "not shipped as is in the dashboards ConfigMap");
    if (!d.uid || !d.title) fail(f, "no uid or title");
    if (uids.has(d.uid)) fail(f, `uid ${d.uid} used twice`);
    uids.add(d.uid);
    if (d.id !== null && d.id !== undefined) fail(f, "id must be null (Grafana assigns it)");
    let queries = 0;
    const ids = new Set();
    for (const p of panelsOf(d.panels)) {
      const where = `${f} panel "${p.title}"`;
      if (ids.has(p.id)) fail(where, `panel id ${p.id} used twice`);
      ids.add(p.id);
      if (p.type === "row") continue;
      if (!p.targets || p.targets.length === 0) fail(where, "no targets");
      for (const t of p.targets || []) {
        if (!t.expr) fail(where, `target ${t.refId} has no expr`);
        else checkNames(where, t.expr, allowed);
        queries++;
      }
    }
    for (const v of (d.templating && d.templating.list) || [])
      if (v.type === "query") {
        const q = typeof v.query === "string" ? v.query : v.query && v.query.query;
        checkNames(`${f} variable ${v.name}`, q || "", allowed);
      }
    if (queries === 0) fail(f, "no queries");
  }
  if (errors.length === 0) console.log(`check-monitoring: ${files.length} dashboards ok`);
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === "rules" && args.length === 3) checkRules(...args);
else if (cmd === "dashboards" && args.length === 2) checkDashboards(...args);
else {
  console.error("usage: check-monitoring.js rules RENDERED OUT TESTS | dashboards RENDERED DIR");
  process.exit(2);
}
if (errors.length) {
  for (const e of errors) console.error(`check-monitoring: ${e}`);
  process.exit(1);
}
