// Alerts (GET /api/alerts): the open episodes first, then the recent
// notices, each with the summary the targets get, its numbers and the
// context it fired with.

import { count, fill, h, label, table, when } from "./ui.js";

export const ALERT_FILTERS = ["since"];

function number(value) {
  if (value === null || value === undefined || value === "") return "–";
  return typeof value === "number" ? value.toLocaleString(undefined, { maximumFractionDigits: 2 }) : String(value);
}

function context(a) {
  if (!a.context || (typeof a.context === "object" && !Object.keys(a.context).length)) return "";
  const text = typeof a.context === "string" ? a.context : JSON.stringify(a.context, null, 2);
  return h("details", {}, h("summary", {}, "context"), h("pre", {}, text));
}

function columns(open) {
  return [
    { title: open ? "Since" : "When", cell: (a) => when(open ? a.started ?? a.at : a.at) },
    { title: "Status", cell: (a) => h("span", { class: `badge ${a.status || "firing"}` }, a.status || "firing") },
    { title: "Severity", cell: (a) => h("span", { class: `badge ${a.severity || ""}` }, a.severity || "–") },
    { title: "Rule", cell: (a) => h("span", {}, h("strong", {}, label(a.rule)), a.slice ? h("br") : null, a.slice || "") },
    { title: "Summary", cell: (a) => h("span", {}, a.summary || "", context(a)) },
    { title: "Value", num: true, cell: (a) => number(a.value) },
    { title: "Baseline", num: true, cell: (a) => number(a.baseline) },
    { title: "n", num: true, cell: (a) => count(a.n) },
    {
      title: "95% interval",
      num: true,
      cell: (a) => (a.ci_low === null || a.ci_low === undefined ? "–" : `${number(a.ci_low)} – ${number(a.ci_high)}`),
    },
  ];
}

const attrs = (a) => ({ "data-rule": a.rule, "data-slice": a.slice ?? "", "data-status": a.status ?? "", "data-value": a.value ?? "", "data-n": a.n ?? "" });

export function mountAlerts(root) {
  const open = h("section", { class: "card", "data-table": "open" });
  const recent = h("section", { class: "card", "data-table": "recent" });
  fill(root, open, recent);
  return {
    update(data) {
      fill(open, h("h2", {}, `Open (${count((data.open || []).length)})`),
        table("Alerts firing now, oldest first", columns(true), data.open || [], attrs));
      fill(recent, h("h2", {}, "Recent notices"),
        table("Notices sent, newest first", columns(false), data.recent || [], attrs));
    },
  };
}
