// Charts, drawn by the vendored Apache ECharts (vendor/echarts.min.js, a
// classic script loaded before the modules): scores over time with their
// intervals, stacked bars, the journeys' Sankey, a person's timeline.

import { SURVEY_NAMES, count, interval, label, score } from "./ui.js";

export const COLORS = { web: "#3b6fd8", app: "#8e4fd1", store: "#d9822b", sms: "#1f9e89" };
const OTHER = ["#5d6577", "#c2410c", "#0e7490", "#a21caf", "#4d7c0f"];
const SCALES = { nps: [-100, 100], csat: [0, 100], ces: [1, 7] };
const TEXT = { color: "#1d2330", fontFamily: "system-ui, sans-serif" };

export function colorOf(channel, i = 0) {
  return COLORS[channel] || OTHER[i % OTHER.length];
}

const still = () => globalThis.matchMedia?.("(prefers-reduced-motion: reduce)").matches;

// The chart in `container`, made once; it follows the container's size.
export function chartIn(container) {
  const echarts = globalThis.echarts;
  let chart = echarts.getInstanceByDom(container);
  if (!chart) {
    chart = echarts.init(container, null, { renderer: "svg" });
    new ResizeObserver(() => chart.resize()).observe(container);
  }
  return chart;
}

function base() {
  return {
    animation: !still(),
    textStyle: TEXT,
    grid: { left: 16, right: 40, top: 44, bottom: 24, containLabel: true },
    legend: { top: 0, textStyle: TEXT },
  };
}

// A bucket's label: a day as is, an hour as "MM-DD HH:00" (UTC).
function bucket(at, grain) {
  return grain === "hour" ? `${at.slice(5, 10)} ${at.slice(11, 13)}:00` : at.slice(0, 10);
}

// One line per channel of `points` ({at, channel, n, score, ci_low, ci_high})
// with its 95% interval as a band.
export function scoresOverTime(container, points, survey, grain) {
  const chart = chartIn(container);
  const times = [...new Set(points.map((p) => p.at))].sort();
  const channels = [...new Set(points.map((p) => p.channel))].sort();
  const at = new Map(points.map((p) => [`${p.at}|${p.channel}`, p]));
  const series = [];
  channels.forEach((channel, i) => {
    const color = colorOf(channel, i);
    const row = times.map((t) => at.get(`${t}|${channel}`));
    const low = row.map((p) => p?.ci_low ?? null);
    const width = row.map((p) => (p && p.ci_high !== null && p.ci_low !== null ? p.ci_high - p.ci_low : null));
    series.push(
      { name: `${channel} low`, type: "line", data: low, stack: channel, stackStrategy: "all", symbol: "none",
        lineStyle: { opacity: 0 }, tooltip: { show: false }, silent: true, legendHoverLink: false },
      { name: `${channel} interval`, type: "line", data: width, stack: channel, stackStrategy: "all", symbol: "none",
        lineStyle: { opacity: 0 }, areaStyle: { color, opacity: 0.12 }, tooltip: { show: false }, silent: true },
      { name: channel, type: "line", data: row.map((p) => p?.score ?? null), color, symbolSize: 5,
        connectNulls: false, z: 3 },
    );
  });
  chart.setOption(
    {
      ...base(),
      legend: { top: 0, textStyle: TEXT, data: channels },
      tooltip: {
        trigger: "axis",
        formatter: (items) => {
          const shown = items.filter((it) => channels.includes(it.seriesName));
          const lines = shown.map((it) => {
            const p = at.get(`${times[it.dataIndex]}|${it.seriesName}`);
            if (!p) return "";
            return `${it.marker}${it.seriesName}: ${score(p.score, survey)} (${interval(p.ci_low, p.ci_high, survey)}), n ${count(p.n)}`;
          });
          return [bucket(times[items[0].dataIndex], grain), ...lines].join("<br>");
        },
      },
      xAxis: { type: "category", data: times.map((t) => bucket(t, grain)), boundaryGap: false },
      yAxis: { type: "value", name: SURVEY_NAMES[survey], min: SCALES[survey][0], max: SCALES[survey][1] },
      series,
    },
    { notMerge: true },
  );
  return chart;
}

// Stacked bars: `categories` on x, one series per key of `stacks`
// ({name: [value per category]}).
export function stackedBars(container, categories, stacks, yName, everyLabel = false) {
  const chart = chartIn(container);
  chart.setOption(
    {
      ...base(),
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: {
        type: "category",
        data: categories.map(label),
        axisLabel: everyLabel ? { interval: 0, width: 90, overflow: "break" } : { hideOverlap: true },
      },
      yAxis: { type: "value", name: yName },
      series: Object.entries(stacks).map(([name, values], i) => ({
        name, type: "bar", stack: "all", data: values, color: colorOf(name, i), barMaxWidth: 48,
      })),
    },
    { notMerge: true },
  );
  return chart;
}

// The flows between (stage, channel) nodes: {nodes: [{name, stage,
// channel}], links: [{source, target, value}]}.
export function sankey(container, flows) {
  const chart = chartIn(container);
  const nodes = flows.nodes.map((node, i) => ({
    name: node.name,
    itemStyle: { color: colorOf(node.channel, i) },
    label: { formatter: `${label(node.stage)} · ${node.channel}` },
  }));
  chart.setOption(
    {
      ...base(),
      tooltip: {
        trigger: "item",
        formatter: (it) =>
          it.dataType === "edge"
            ? `${it.data.source} → ${it.data.target}: ${count(it.data.value)} journeys`
            : `${it.name}: ${count(it.value)} journeys`,
      },
      series: [
        {
          type: "sankey",
          data: nodes,
          links: flows.links,
          nodeAlign: "left",
          emphasis: { focus: "adjacent" },
          lineStyle: { color: "gradient", opacity: 0.35, curveness: 0.5 },
          label: { ...TEXT, fontSize: 11 },
          left: 8, right: 120, top: 8, bottom: 8,
        },
      ],
    },
    { notMerge: true },
  );
  return chart;
}

// A person's touchpoints in time: one row per channel, a point per
// touchpoint coloured by stage.
export function timeline(container, touchpoints) {
  const chart = chartIn(container);
  const channels = [...new Set(touchpoints.map((t) => t.channel))].sort();
  const stages = [...new Set(touchpoints.map((t) => t.stage || "signal"))];
  chart.setOption(
    {
      ...base(),
      tooltip: {
        trigger: "item",
        formatter: (it) => {
          const t = it.data.touchpoint;
          const at = new Date(t.occurred_at_ms).toISOString().slice(0, 16).replace("T", " ");
          return `${at} UTC<br>${t.channel} · ${label(t.event_type)}<br>${label(t.stage || "signal")}`;
        },
      },
      xAxis: {
        type: "time",
        min: (v) => v.min - Math.max((v.max - v.min) * 0.03, 60_000),
        max: (v) => v.max + Math.max((v.max - v.min) * 0.03, 60_000),
      },
      yAxis: { type: "category", data: channels },
      series: stages.map((stage, i) => ({
        name: label(stage),
        type: "scatter",
        symbolSize: 11,
        color: OTHER.concat(Object.values(COLORS))[i % 9],
        data: touchpoints
          .filter((t) => (t.stage || "signal") === stage)
          .map((t) => ({ value: [t.occurred_at_ms, t.channel], touchpoint: t })),
      })),
    },
    { notMerge: true },
  );
  return chart;
}
