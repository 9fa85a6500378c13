#!/usr/bin/env node
// Validates rendered Kubernetes manifests (the output of `helm template`) read
// from the files named on the command line, or stdin:
//   1. every document against the Kubernetes OpenAPI schema of its kind
//      (npm kubernetes-models, per-kind validate()); a PrometheusRule, which
//      has no model there, by its structure only;
//   2. the chart's own production rules: non-root, read-only root, no
//      capabilities, seccomp, resources and probes on every long-running
//      container; Services, PDBs, HPAs and NetworkPolicies point at workloads
//      that exist.
// Exit status 1 with one line per problem if anything fails.
"use strict";
const fs = require("fs");
const path = require("path");
const toolsDir = path.join(__dirname, "..", "..", "tools", "node_modules");
const YAML = require(path.join(toolsDir, "yaml"));

const KINDS = {
  "v1/ConfigMap": "v1/ConfigMap",
  "v1/Secret": "v1/Secret",
  "v1/Service": "v1/Service",
  "v1/ServiceAccount": "v1/ServiceAccount",
  "apps/v1/Deployment": "apps/v1/Deployment",
  "batch/v1/Job": "batch/v1/Job",
  "batch/v1/CronJob": "batch/v1/CronJob",
  "autoscaling/v2/HorizontalPodAutoscaler": "autoscaling/v2/HorizontalPodAutoscaler",
  "policy/v1/PodDisruptionBudget": "policy/v1/PodDisruptionBudget",
  "networking.k8s.io/v1/Ingress": "networking.k8s.io/v1/Ingress",
  "networking.k8s.io/v1/NetworkPolicy": "networking.k8s.io/v1/NetworkPolicy",
};

// Custom resources with no model in kubernetes-models: a structural check here,
// the rules themselves in check-monitoring.js and promtool (helm/tests/rules.sh).
const CUSTOM = {
  "monitoring.coreos.com/v1/PrometheusRule": (doc) =>
    doc.spec && Array.isArray(doc.spec.groups) && doc.spec.groups.length > 0 &&
    doc.spec.groups.every((g) => typeof g.name === "string" && Array.isArray(g.rules))
      ? null
      : "spec.groups must be a non-empty list of {name, rules}",
  "monitoring.coreos.com/v1/ServiceMonitor": (doc) =>
    doc.spec && doc.spec.selector && doc.spec.selector.matchLabels &&
    Object.keys(doc.spec.selector.matchLabels).length > 0 &&
    Array.isArray(doc.spec.endpoints) && doc.spec.endpoints.length > 0 &&
    doc.spec.endpoints.every((e) => typeof e.port === "string" && e.path === "/metrics")
      ? null
      : "spec needs selector.matchLabels and endpoints of {port (a name), path: /metrics}",
};

const errors = [];
const fail = (where, msg) => errors.push(`${where}: ${msg}`);

function readInputs(files) {
  if (files.length === 0) return [["<stdin>", fs.readFileSync(0, "utf8")]];
  return files.map((f) => [f, fs.readFileSync(f, "utf8")]);
}

function modelFor(apiVersion, kind) {
  const key = `${apiVersion}/${kind}`;
  const rel = KINDS[key];
  if (!rel) return null;
  const mod = require(path.join(toolsDir, "kubernetes-models", rel + ".js"));
  return mod[kind];
}

function podSpecOf(doc) {
  switch (doc.kind) {
    case "Deployment":
    case "Job":
      return doc.spec && doc.spec.template && doc.spec.template.spec;
    case "CronJob":
      return doc.spec.jobTemplate.spec.template.spec;
    default:
      return null;
  }
}

function podLabelsOf(doc) {
  const t = doc.kind === "CronJob" ? doc.spec.jobTemplate.spec.template : doc.spec.template;
  return (t && t.metadata && t.metadata.labels) || {};
}

const matches = (selector, labels) =>
  selector && Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([k, v]) => labels[k] === v);

function checkPod(where, doc, spec) {
  const psc = spec.securityContext || {};
  if (psc.runAsNonRoot !== true) fail(where, "pod securityContext.runAsNonRoot must be true");
  if (!psc.seccompProfile || psc.seccompProfile.type !== "RuntimeDefault")
    fail(where, "pod securityContext.seccompProfile.type must be RuntimeDefault");
  if (spec.automountServiceAccountToken !== false)
    fail(where, "automountServiceAccountToken must be false");
  for (const c of spec.containers || []) {
    const cw = `${where} container ${c.name}`;
    const sc = c.securityContext || {};
    if (sc.readOnlyRootFilesystem !== true) fail(cw, "readOnlyRootFilesystem must be true");
    if (sc.allowPrivilegeEscalation !== false) fail(cw, "allowPrivilegeEscalation must be false");
    const drop = (sc.capabilities && sc.capabilities.drop) || [];
    if (!drop.includes("ALL")) fail(cw, "capabilities.drop must include ALL");
    if (sc.capabilities && sc.capabilities.add && sc.capabilities.add.length)
      fail(cw, "capabilities.add must be empty");
    const r = c.resources || {};
    for (const k of ["requests", "limits"])
      for (const res of ["cpu", "memory"])
        if (!r[k] || r[k][res] === undefined) fail(cw, `resources.${k}.${res} missing`);
    if (!/:[^/]+$/.test(c.image || "") || /:$/.test(c.image)) fail(cw, `image "${c.image}" has no tag`);
    if (doc.kind === "Deployment")
      for (const p of ["startupProbe", "readinessProbe", "livenessProbe"])
        if (!c[p]) fail(cw, `${p} missing`);
  }
}

function main() {
  const docs = [];
  for (const [name, text] of readInputs(process.argv.slice(2))) {
    for (const d of YAML.parseAllDocuments(text)) {
      if (d.errors.length) {
        fail(name, `YAML: ${d.errors[0].message}`);
        continue;
      }
      const obj = d.toJS();
      if (obj !== null && obj !== undefined) docs.push([name, obj]);
    }
  }
  if (docs.length === 0) fail("input", "no manifests");

  const workloads = [];
  const services = [];
  for (const [file, doc] of docs) {
    const where = `${file}: ${doc.kind || "?"}/${(doc.metadata && doc.metadata.name) || "?"}`;
    const custom = CUSTOM[`${doc.apiVersion}/${doc.kind}`];
    if (custom) {
      const problem = custom(doc);
      if (problem) fail(where, problem);
      continue;
    }
    const Model = modelFor(doc.apiVersion, doc.kind);
    if (!Model) {
      fail(where, `unexpected apiVersion/kind ${doc.apiVersion}/${doc.kind}`);
      continue;
    }
    try {
      new Model(doc).validate();
    } catch (e) {
      fail(where, `schema: ${e.message.split("\n").join("; ")}`);
    }
    const spec = podSpecOf(doc);
    if (spec) {
      checkPod(where, doc, spec);
      workloads.push(doc);
    }
    if (doc.kind === "Service") services.push(doc);
  }

  const byName = (kind, name) => docs.find(([, d]) => d.kind === kind && d.metadata.name === name);
  const anyPodMatches = (selector) =>
    workloads.some((w) => w.kind === "Deployment" && matches(selector, podLabelsOf(w)));
  for (const [file, doc] of docs) {
    const where = `${file}: ${doc.kind}/${doc.metadata && doc.metadata.name}`;
    if (doc.kind === "Service" && !anyPodMatches(doc.spec.selector))
      fail(where, "selector matches no Deployment's pods");
    if (doc.kind === "PodDisruptionBudget" && !anyPodMatches(doc.spec.selector.matchLabels))
      fail(where, "selector matches no Deployment's pods");
    if (doc.kind === "NetworkPolicy" && !anyPodMatches(doc.spec.podSelector.matchLabels))
      fail(where, "podSelector matches no Deployment's pods");
    if (doc.kind === "ServiceMonitor") {
      /* each endpoint's port is a named port of a Service the selector matches */
      const sel = doc.spec.selector.matchLabels;
      const svcs = services.filter((s) => matches(sel, (s.metadata && s.metadata.labels) || {}));
      if (svcs.length === 0) fail(where, "selector matches no Service");
      for (const e of doc.spec.endpoints)
        if (!svcs.some((s) => (s.spec.ports || []).some((p) => p.name === e.port)))
          fail(where, `endpoint port ${e.port} is not a port of the selected Services`);
    }
    if (doc.kind === "HorizontalPodAutoscaler") {
      const ref = doc.spec.scaleTargetRef;
      if (!byName(ref.kind, ref.name)) fail(where, `scaleTargetRef ${ref.kind}/${ref.name} not rendered`);
      if (doc.spec.minReplicas > doc.spec.maxReplicas) fail(where, "minReplicas > maxReplicas");
    }
    if (doc.kind === "Ingress") {
      for (const rule of doc.spec.rules || [])
        for (const p of (rule.http && rule.http.paths) || []) {
          const svc = p.backend.service;
          if (svc.port.name === "use-annotation") {
            const a = doc.metadata.annotations[`alb.ingress.kubernetes.io/actions.${svc.name}`];
            if (!a) fail(where, `no actions annotation for ${svc.name}`);
            else {
              const groups = JSON.parse(a).forwardConfig.targetGroups;
              const sum = groups.reduce((s, g) => s + g.weight, 0);
              if (sum !== 100) fail(where, `canary weights sum to ${sum}, not 100`);
            }
          } else if (!byName("Service", svc.name)) {
            fail(where, `backend Service ${svc.name} not rendered`);
          }
        }
    }
  }

  if (errors.length) {
    for (const e of errors) console.error(`validate-manifests: ${e}`);
    process.exit(1);
  }
  console.log(`validate-manifests: ${docs.length} manifests ok`);
}

main();
