// Alerts (GET /api/alerts): the open episodes first, then the recent
// notices, each with the summary the targets get, its numbers and the
// context it fired with.

import { count, fill, h, label, table, when } from "./ui.js";

export const ALERT_FILTERS = ["since"];

function number(value) {
  if (value === null || value === undefined || value === "") return "–";
  return typeof value === "number" ? value.toLocaleString(undefined, { maximumFractionDigits: 2 }) : String(value);
}

function signed(value) {
  if (value === null || value === undefined) return "–";
  return `${value > 0 ? "+" : ""}${number(value)}`;
}

// What the alert fired with: the pain points of its slice, and its rule.
function context(a) {
  const pains = Array.isArray(a.context) ? a.context : [];
  const rule = [a.condition, a.window ? `over ${a.window}` : null].filter(Boolean).join(" ");
  if (!pains.length && !rule) return "";
  return h("details", {}, h("summary", {}, "context"),
    rule ? h("p", { class: "note" }, `rule: ${rule}`) : null,
    pains.length
      ? h("ul", { "aria-label": "pain points in its slice over the last day" }, pains.map((p) =>
          h("li", {}, `${label(p.pain_point)} × ${count(p.count)}`,
            h("span", { class: "note" }, ` ${[p.channel, p.store_id, p.touchpoint && label(p.touchpoint)].filter(Boolean).join(", ")}`))))
      : null);
}

function columns(open) {
  return [
    { title: open ? "Since (UTC)" : "When (UTC)", cell: (a) => when(open ? a.started_at : a.at) },
    { title: "Status", cell: (a) => h("span", { class: `badge ${a.status}` }, a.status) },
    { title: "Severity", cell: (a) => h("span", { class: `badge ${a.severity}` }, a.severity) },
    { title: "Rule", cell: (a) => h("span", {}, h("strong", {}, a.rule), h("br"), `${label(a.metric)}${a.slice ? ` · ${a.slice}` : ""}`) },
    { title: "Summary", cell: (a) => h("span", {}, a.summary, context(a)) },
    { title: "Value", num: true, cell: (a) => number(a.value) },
    { title: "Baseline", num: true, cell: (a) => number(a.baseline) },
    { title: "Change", num: true, cell: (a) => signed(a.change) },
    { title: "n", num: true, cell: (a) => (a.baseline_n === null ? count(a.n) : `${count(a.n)} (baseline ${count(a.baseline_n)})`) },
    { title: "Bound", num: true, cell: (a) => number(a.bound) },
  ];
}

const attrs = (a) => ({ "data-rule": a.rule, "data-slice": a.slice, "data-status": a.status, "data-value": a.value ?? "", "data-n": a.n });

export function mountAlerts(root) {
  const open = h("section", { class: "card", "data-table": "open" });
  const recent = h("section", { class: "card", "data-table": "recent" });
  fill(root, open, recent);
  return {
    update(data) {
      fill(open, h("h2", {}, `Open (${count(data.open.length)})`),
        table("Alerts firing now, newest first", columns(true), data.open, attrs));
      fill(recent, h("h2", {}, "Recent notices"),
        table("Notices sent, newest first", columns(false), data.recent, attrs));
    },
  };
}
