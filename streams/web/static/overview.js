// The overview (GET /api/overview): a tile per score with n and interval,
// volume, a line per channel over time with its interval band, tables by
// channel and by store (worst first), and the open alerts.

import { scoresOverTime, stackedBars } from "./charts.js";
import {
  FEW, SURVEYS, SURVEY_NAMES, channelMark, count, fill, h, interval, score,
  scoreColumns, scoreData, table, when, worstFirst,
} from "./ui.js";

export const OVERVIEW_FILTERS = ["from", "to", "grain", "channel", "store"];

// Build the page's sections in `root` once; `update(data, alerts)` fills
// them (again at each poll, keeping the chosen survey and focus).
export function mountOverview(root) {
  let survey = "nps";
  let last = null;
  const strip = h("section", { class: "card alerts-strip", "aria-labelledby": "alerts-h" });
  const tiles = h("section", { class: "tiles", "aria-label": "Scores" });
  const volume = h("section", { class: "tiles", "aria-label": "Volume" });
  const choose = h(
    "fieldset",
    { class: "switch" },
    h("legend", { class: "skip" }, "Survey"),
    SURVEYS.map((s) =>
      h("label", {}, h("input", { type: "radio", name: "survey", value: s, checked: s === survey }), SURVEY_NAMES[s]),
    ),
  );
  choose.addEventListener("change", (event) => {
    survey = event.target.value;
    if (last) draw();
  });
  const trendTitle = h("h2", { id: "trend-h" });
  const trend = h("div", { class: "chart", role: "img", "aria-labelledby": "trend-h" });
  const byChannel = h("div", { "data-table": "by-channel" });
  const byStore = h("div", { "data-table": "by-store" });
  const eventsChart = h("div", { class: "chart", role: "img", "aria-label": "Events by channel over time" });
  fill(
    root,
    strip,
    tiles,
    volume,
    h("section", { class: "card" }, h("header", {}, trendTitle, choose, h("p", {}, "lines: score per channel; bands: 95% interval")), trend),
    h("div", { class: "grid" }, h("section", { class: "card" }, byChannel), h("section", { class: "card" }, byStore)),
    h("section", { class: "card" }, h("h2", {}, "Events by channel"), eventsChart),
  );

  function draw() {
    const data = last.data;
    const s = data.surveys[survey];
    trendTitle.textContent = `${SURVEY_NAMES[survey]} by channel, per ${data.grain}`;
    scoresOverTime(trend, s.over_time, survey, data.grain);
    const columns = (first) => [first, ...scoreColumns(survey)];
    const rowOf = (key) => (r) => ({
      class: r.n < FEW ? "few" : null,
      title: r.n < FEW ? `fewer than ${FEW} answers: read with care` : null,
      [`data-${key}`]: r[key === "store" ? "store_id" : key],
      ...scoreData(r, survey),
    });
    fill(
      byChannel,
      table(`${SURVEY_NAMES[survey]} by channel, worst first`,
        columns({ title: "Channel", cell: (r) => channelMark(r.channel) }), worstFirst(s.by_channel), rowOf("channel")),
    );
    fill(
      byStore,
      table(`${SURVEY_NAMES[survey]} by store, worst first`,
        columns({ title: "Store", cell: (r) => r.store_id }), worstFirst(s.by_store), rowOf("store")),
    );
  }

  return {
    update(data, alerts) {
      last = { data };
      fill(strip, ...alertStrip(alerts));
      strip.classList.toggle("open", Boolean(alerts && (alerts.open || []).length));
      fill(tiles, SURVEYS.map((s) => tile(s, data.surveys[s].total)));
      fill(volume, volumeTiles(data.volume));
      draw();
      const times = [...new Set(data.volume.over_time.map((p) => p.at))].sort();
      const channels = [...new Set(data.volume.over_time.map((p) => p.channel))].sort();
      const at = new Map(data.volume.over_time.map((p) => [`${p.at}|${p.channel}`, p.events]));
      const stacks = Object.fromEntries(channels.map((c) => [c, times.map((t) => at.get(`${t}|${c}`) ?? 0)]));
      const buckets = times.map((t) => (data.grain === "hour" ? t.slice(5, 16).replace("T", " ") : t.slice(0, 10)));
      stackedBars(eventsChart, buckets, stacks, "events");
    },
  };
}

function tile(survey, s) {
  const few = s.n < FEW;
  return h(
    "article",
    { class: few ? "tile few" : "tile", ...scoreData(s, survey) },
    h("h2", {}, SURVEY_NAMES[survey]),
    h("p", { class: "value" }, score(s.score, survey)),
    h("p", { class: "ci" }, `95% interval ${interval(s.ci_low, s.ci_high, survey)}`),
    h("p", { class: "n" }, `n = ${count(s.n)}${s.n === 0 ? " (no answers)" : few ? " (few answers)" : ""}`),
  );
}

function volumeTiles(v) {
  const revenue = Object.entries(v.total.revenue);
  return [
    h("article", { class: "tile", "data-volume": "events", "data-n": v.total.events },
      h("h2", {}, "Events"), h("p", { class: "value" }, count(v.total.events))),
    h("article", { class: "tile", "data-volume": "purchases", "data-n": v.total.purchases },
      h("h2", {}, "Purchases"), h("p", { class: "value" }, count(v.total.purchases))),
    h("article", { class: "tile", "data-volume": "revenue" },
      h("h2", {}, "Revenue"),
      revenue.length
        ? h("p", { class: "n" }, revenue.map(([c, amount]) => h("span", { "data-currency": c }, `${c} ${Number(amount).toLocaleString(undefined, { maximumFractionDigits: 0 })}`, h("br"))))
        : h("p", { class: "value" }, "–")),
  ];
}

// The open alerts, each with its summary, and a link to the alerts page.
export function alertStrip(alerts) {
  if (!alerts) return [h("h2", { id: "alerts-h" }, "Alerts"), h("p", { class: "empty" }, "Alerts could not be read.")];
  const open = alerts.open || [];
  const title = h("h2", { id: "alerts-h" }, open.length ? `${count(open.length)} open alert${open.length === 1 ? "" : "s"}` : "No open alerts");
  return [
    title,
    open.length
      ? h("ul", { "data-open-alerts": open.length },
          open.slice(0, 5).map((a) =>
            h("li", {}, h("span", { class: `badge ${a.severity}` }, a.severity), " ", a.summary,
              h("span", { class: "note" }, ` since ${when(a.started_at)} UTC`))))
      : h("p", { class: "note", "data-open-alerts": 0 }, "Every alert rule is within its bounds."),
    location.protocol.startsWith("http") // not in a report opened from its file
      ? h("p", { class: "note" }, h("a", { href: "/alerts" }, "All alerts and recent notices"))
      : null,
  ];
}
