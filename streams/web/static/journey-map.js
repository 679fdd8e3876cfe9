// The journey map (GET /api/journey-map): the five stages as columns with
// their conversion, drop-off, channels, scores and pain points; the flows
// between stages and channels as a Sankey; response times.

import { sankey, stackedBars } from "./charts.js";
import {
  CHANNELS, FEW, SURVEYS, SURVEY_NAMES, channelMark, count, fill, h, interval, label, minutes,
  percent, score, scoreData, table,
} from "./ui.js";

export const JOURNEY_FILTERS = ["from", "to", "channel", "segment", "b2b", "store"];

export function mountJourneyMap(root) {
  const stages = h("ol", { class: "stages", "aria-label": "Stages" });
  const reachedChart = h("div", { class: "chart", role: "img", "aria-label": "Journeys reaching each stage, by channel" });
  const flowChart = h("div", { class: "chart tall", role: "img", "aria-labelledby": "flows-h" });
  const flowNote = h("p", { class: "note" });
  const scores = h("div", { "data-table": "scores-by-stage" });
  const pains = h("div", { "data-table": "pain-points" });
  const times = h("div", { "data-table": "response-times" });
  fill(
    root,
    stages,
    h("section", { class: "card" },
      h("header", {}, h("h2", { id: "flows-h" }, "Flows between stages and channels"),
        h("p", {}, "each band: journeys that went from one stage and channel to the next")),
      flowChart, flowNote),
    h("div", { class: "grid" },
      h("section", { class: "card" }, h("h2", {}, "Journeys reaching each stage, by channel"), reachedChart),
      h("section", { class: "card" }, scores)),
    h("div", { class: "grid" }, h("section", { class: "card" }, pains), h("section", { class: "card" }, times)),
  );

  return {
    update(data) {
      fill(stages, data.stages.map(stageColumn));
      const channels = CHANNELS.filter((c) => data.stages.some((s) => s.by_channel?.[c]));
      stackedBars(
        reachedChart,
        data.stages.map((s) => s.stage),
        Object.fromEntries(channels.map((c) => [c, data.stages.map((s) => s.by_channel?.[c] ?? 0)])),
        "journeys",
        true,
      );
      if (data.flows.links.length) sankey(flowChart, data.flows);
      const returned = data.flows.returned || 0;
      flowNote.dataset.returned = returned;
      flowNote.textContent = data.flows.links.length
        ? `${count(returned)} step${returned === 1 ? "" : "s"} returned to an earlier stage (counted, not drawn).`
        : "No journey moved between stages in this range.";
      const unstaged = { stage: "no stage", scores: data.unstaged?.scores, pain_points: data.unstaged?.pain_points };
      fill(scores, scoreTable([...data.stages, unstaged]));
      fill(pains, painTable([...data.stages, unstaged]));
      fill(times, responseTimes(data.response_times, data.filters));
    },
  };
}

function stageColumn(s) {
  const total = Object.values(s.by_channel || {}).reduce((a, b) => a + b, 0) || 1;
  const top = [...(s.pain_points || [])].sort((a, b) => b.count - a.count).slice(0, 3);
  return h(
    "li",
    {
      class: "stage",
      "data-stage": s.stage,
      "data-journeys": s.journeys,
      "data-reached": s.reached,
      "data-conversion": s.conversion ?? "",
      "data-drop-off": s.drop_off ?? "",
      "data-joined": s.joined ?? "",
    },
    h("h2", {}, label(s.stage)),
    h("p", { class: "big" }, count(s.reached)),
    h("dl", {},
      h("dt", {}, "of all journeys"), h("dd", {}, percent(s.share)),
      h("dt", {}, "from the stage before"), h("dd", {}, percent(s.conversion)),
      h("dt", {}, "dropped"), h("dd", { class: "drop" }, s.drop_off === null ? "–" : count(s.drop_off)),
      // reached this stage without the one before (a purchase in store with no awareness online)
      s.joined ? [h("dt", {}, "joined here"), h("dd", {}, `+${count(s.joined)}`)] : null),
    h("ul", { class: "bars", "aria-label": `${label(s.stage)} by channel` },
      Object.entries(s.by_channel || {}).map(([c, n]) =>
        h("li", { class: c, "data-channel": c, "data-n": n }, h("span", {}, c),
          h("span", { class: "bar" }, h("span", { style: `width:${(100 * n) / total}%` })),
          h("span", { class: "num" }, count(n))))),
    top.length ? h("ul", { class: "pains", "aria-label": "top pain points" },
      top.map((p) => h("li", {}, `${label(p.pain_point)}: ${count(p.count)}`))) : null,
  );
}

function scoreTable(stages) {
  const columns = [{ title: "Stage", cell: (s) => label(s.stage) }];
  for (const survey of SURVEYS) {
    columns.push({
      title: SURVEY_NAMES[survey],
      num: true,
      cell: (s) => {
        const v = s.scores?.[survey];
        if (!v || !v.n) return "–";
        return h("span", { ...scoreData(v, survey), class: v.n < FEW ? "few" : null },
          score(v.score, survey), h("br"), h("small", {}, `${interval(v.ci_low, v.ci_high, survey)} · n ${count(v.n)}`));
      },
    });
  }
  return table("Scores per stage (the answers rating a touchpoint of it)", columns, stages,
    (s) => ({ "data-stage": s.stage }));
}

function painTable(stages) {
  const rows = stages.flatMap((s) => (s.pain_points || []).map((p) => ({ stage: s.stage, ...p })));
  rows.sort((a, b) => b.count - a.count);
  return table("Pain points per stage, most first",
    [
      { title: "Stage", cell: (r) => label(r.stage) },
      { title: "Pain point", cell: (r) => label(r.pain_point) },
      { title: "Count", num: true, cell: (r) => count(r.count) },
    ],
    rows,
    (r) => ({ "data-stage": r.stage, "data-pain-point": r.pain_point, "data-n": r.count }));
}

// Support response times by the channel a contact was opened on: counts
// and mean times to the first answer and to resolution.
function responseTimes(times, filters = {}) {
  const rows = times?.by_channel || [];
  const seconds = (v) => (v === null || v === undefined ? "–" : minutes(v * 1000));
  const unfiltered = ["segment", "b2b", "store"].filter((f) => filters[f] !== "" && filters[f] !== null && filters[f] !== undefined);
  const note = unfiltered.length
    ? h("p", { class: "note", "data-unfiltered": unfiltered.join(" ") },
      `Not filtered by ${unfiltered.map((f) => (f === "b2b" ? "accounts" : f)).join(" nor ")}: contacts carry none.`)
    : null;
  return [table("Support response times, by channel",
    [
      { title: "Channel", cell: (r) => channelMark(r.channel) },
      { title: "Contacts", num: true, cell: (r) => count(r.contacts) },
      { title: "Answered", num: true, cell: (r) => count(r.answered) },
      { title: "Resolved", num: true, cell: (r) => count(r.resolved) },
      { title: "First answer (mean)", num: true, cell: (r) => seconds(r.first_answer_mean_seconds) },
      { title: "Resolution (mean)", num: true, cell: (r) => seconds(r.resolution_mean_seconds) },
    ],
    rows,
    (r) => ({ "data-channel": r.channel, "data-n": r.contacts })), note];
}
