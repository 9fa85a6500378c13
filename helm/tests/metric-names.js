// Metric names: the documented contract (the table in docs/operations.md,
// "Reading metrics") and the names a PromQL expression reads. Used by
// check-monitoring.js for the alert rules and the Grafana dashboards.
"use strict";
const fs = require("fs");

// Words of PromQL that are not metric names when they stand alone (the
// aggregations, which may be followed by `by (...)` before their parenthesis).
const KEYWORDS = new Set([
  "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
  "bottomk", "topk", "quantile", "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
  "and", "or", "unless", "inf", "nan", "atan2",
]);

// The rows of the first table under `## <heading>`: [{name, type, cells}],
// name taken from the first cell's backticks.
function documentedMetrics(mdFile, heading = "Reading metrics") {
  const lines = fs.readFileSync(mdFile, "utf8").split("\n");
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  if (start < 0) throw new Error(`${mdFile}: no section "## ${heading}"`);
  const rows = [];
  for (let i = start + 1; i < lines.length && !/^## /.test(lines[i]); i++) {
    const m = /^\|\s*`([A-Za-z_:][A-Za-z0-9_:]*)`\s*\|(.*)\|\s*$/.exec(lines[i]);
    if (m) rows.push({ name: m[1], cells: m[2].split("|").map((c) => c.trim()) });
  }
  if (rows.length === 0) throw new Error(`${mdFile}: no metric table under "## ${heading}"`);
  return rows.map((r) => ({ name: r.name, type: r.cells[0], cells: r.cells }));
}

// Every name a query may use for the documented metrics: a histogram also
// has its _bucket, _sum and _count series.
function allowedNames(rows) {
  const names = new Set();
  for (const r of rows) {
    names.add(r.name);
    if (/histogram/.test(r.type)) for (const s of ["_bucket", "_sum", "_count"]) names.add(r.name + s);
  }
  return names;
}

// The metric names an expression reads (PromQL, possibly with Grafana's
// $variables and label_values(metric, label)).
function metricNames(expr) {
  let s = String(expr);
  s = s.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""'); // strings
  s = s.replace(/\$\{[^}]*\}|\$\w+/g, " "); // Grafana variables
  s = s.replace(/\{[^}]*\}/g, " "); // label matchers
  s = s.replace(/\[[^\]]*\]/g, " "); // ranges and subqueries
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " $1 ");
  s = s.replace(/\boffset\s+-?(?:\d+[a-z]+)+/gi, " "); // offset durations
  s = s.replace(/\blabel_values\s*\(([^,)]*),[^)]*\)/g, " $1 "); // Grafana: label name is no metric
  const names = new Set();
  const token = /(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|0[xX][0-9a-fA-F]+)|([A-Za-z_:][A-Za-z0-9_:]*)|(\S)/g;
  const tokens = [];
  for (let m; (m = token.exec(s)); ) tokens.push(m);
  for (let i = 0; i < tokens.length; i++) {
    const id = tokens[i][2];
    if (!id) continue;
    const next = s.slice(tokens[i].index + id.length).trimStart();
    if (next.startsWith("(")) continue; // a function or an aggregation
    if (KEYWORDS.has(id.toLowerCase())) continue;
    names.add(id);
  }
  return [...names];
}

module.exports = { documentedMetrics, allowedNames, metricNames };
