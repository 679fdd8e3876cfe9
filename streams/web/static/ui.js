// What every page shares: asking the JSON endpoints, polling while the page
// is visible, formatting numbers, and building DOM without HTML strings
// (data is never parsed as markup).

export const POLL_MS = 5000;
export const FEW = 30;
// Fewer answers than this: the row or tile is greyed, not hidden.
export const SURVEYS = ["nps", "csat", "ces"];
export const SURVEY_NAMES = { nps: "NPS", csat: "CSAT", ces: "CES" };
export const STAGES = ["awareness", "consideration", "purchase", "post_purchase", "loyalty"];
export const CHANNELS = ["web", "app", "store", "sms"];

// h("td", {class: "num", "data-n": 3}, "text", child): an element. null,
// undefined and false children and attributes are left out.
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// The answer a static report carries for `key`, if this is one.
export function embedded(key) {
  const holder = document.getElementById(`cx-data-${key}`);
  return holder ? JSON.parse(holder.textContent) : undefined;
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// GET /api/<key>?<params>: its JSON, or an ApiError with the server's line.
export async function api(key, params = new URLSearchParams(), headers = {}) {
  const response = await fetch(`/api/${key}?${params}`, { headers, cache: "no-store" });
  let body = {};
  try {
    body = await response.json();
  } catch {
    // not JSON: the status says enough
  }
  if (!response.ok) {
    const said = body.error || (body.phase ? `the worker is ${body.phase}` : response.statusText);
    throw new ApiError(response.status, said);
  }
  return body;
}

// --- the bearer token (CX_WEB_TOKEN) of personal lookups -------------------
// Asked once and kept in this tab's sessionStorage (not a cookie: no CSRF
// surface), sent as Authorization: Bearer. The person page and the journey
// map's comments share it.

const TOKEN = "cx.token";

export function token() {
  return sessionStorage.getItem(TOKEN);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN, value);
  else sessionStorage.removeItem(TOKEN);
}

export function bearer() {
  return { Authorization: `Bearer ${token()}` };
}

// A form that asks for the token and keeps it; `saved()` runs after.
export function tokenForm(id, note, saved) {
  const form = h("form", { class: "filters", id },
    h("label", {}, "Token (CX_WEB_TOKEN)", h("input", { type: "password", name: "token", autocomplete: "off", required: true })),
    h("button", { type: "submit" }, "Use token"),
    h("p", { class: "note" }, note));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setToken(form.elements.token.value.trim());
    form.reset();
    saved();
  });
  return form;
}

// The page's query string, only `names` and only those given.
export function pageQuery(names) {
  const given = new URLSearchParams(location.search);
  const kept = new URLSearchParams();
  for (const name of names) {
    const value = given.get(name);
    if (value) kept.set(name, value);
  }
  return kept;
}

// Fill a filter form from the page's query; on submit, navigate with the
// non-empty fields only (a bookmarkable URL).
export function filterForm(form) {
  if (!form) return;
  const given = new URLSearchParams(location.search);
  for (const field of form.elements) {
    if (field.name && given.has(field.name)) field.value = given.get(field.name);
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const kept = new URLSearchParams();
    for (const [name, value] of new FormData(form)) if (value) kept.set(name, value);
    const search = kept.toString();
    location.search = search ? `?${search}` : "";
  });
}

// Run `load` now and every POLL_MS while the page is visible; the status
// element says when it last worked, or since when the numbers are stale,
// and `problem` (if given) says why in the page. A failed load keeps what
// is on screen.
export function live(load, status, problem = null) {
  let timer = null;
  let running = false;
  let okAt = null;
  async function tick() {
    if (running) return;
    running = true;
    try {
      await load();
      okAt = new Date();
      setStatus(status, "live", `Live · updated ${clock(okAt)}`);
      status.dataset.updated = okAt.toISOString();
      if (problem) problem.textContent = "";
    } catch (error) {
      const why = error instanceof ApiError ? error.message : `no answer (${error.message})`;
      const text = okAt ? `Stale since ${clock(okAt)}: ${why}` : `Not loaded: ${why}`;
      setStatus(status, "stale", text);
      if (problem) problem.textContent = okAt ? `Showing the numbers of ${clock(okAt)}: ${why}` : why;
    } finally {
      running = false;
    }
  }
  function schedule() {
    clearInterval(timer);
    timer = document.visibilityState === "visible" ? setInterval(tick, POLL_MS) : null;
  }
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") tick();
    schedule();
  });
  schedule();
  tick();
  return { refresh: tick };
}

export function setStatus(status, state, text) {
  if (!status) return;
  status.dataset.state = state;
  status.textContent = text;
}

// --- numbers -------------------------------------------------------------

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

export function count(n) {
  return n === null || n === undefined ? "–" : integer.format(n);
}

export function percent(share, digits = 1) {
  if (share === null || share === undefined) return "–";
  return `${(100 * share).toFixed(digits)}%`;
}

const DIGITS = { nps: 1, csat: 1, ces: 2 };

// A score as people read it: NPS signed, CSAT in %, CES on its 1–7 scale.
export function score(value, survey) {
  if (value === null || value === undefined) return "–";
  const text = Number(value).toFixed(DIGITS[survey] ?? 1);
  if (survey === "nps" && value > 0) return `+${text}`;
  return survey === "csat" ? `${text}%` : text;
}

export function interval(low, high, survey) {
  if (low === null || low === undefined || high === null || high === undefined) return "–";
  const digits = DIGITS[survey] ?? 1;
  return `${Number(low).toFixed(digits)} – ${Number(high).toFixed(digits)}`;
}

// The data- attributes of a score: what the browser tests read.
export function scoreData(s, survey) {
  return {
    "data-survey": survey,
    "data-n": s.n,
    "data-score": s.score ?? "",
    "data-ci-low": s.ci_low ?? "",
    "data-ci-high": s.ci_high ?? "",
  };
}

export function minutes(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 2 * 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

function clock(at) {
  return at.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

// An instant (ms since the epoch or ISO text) as UTC, to the minute.
export function when(at) {
  if (at === null || at === undefined || at === "") return "–";
  const moment = typeof at === "number" ? new Date(at) : new Date(at);
  if (Number.isNaN(moment.getTime())) return String(at);
  return moment.toISOString().slice(0, 16).replace("T", " ");
}

export function label(name) {
  return String(name).replaceAll("_", " ");
}

// --- tables --------------------------------------------------------------

// A table: columns [{title, num, cell(row) -> text or node}], one row each;
// rowAttrs(row) gives a row's attributes (class, data-).
export function table(caption, columns, rows, rowAttrs = () => ({})) {
  if (!rows.length) return h("p", { class: "empty" }, `${caption}: nothing in this range.`);
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      {},
      h("caption", {}, caption),
      h(
        "thead",
        {},
        h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : null }, c.title))),
      ),
      h(
        "tbody",
        {},
        rows.map((row) =>
          h("tr", rowAttrs(row), columns.map((c) => h("td", { class: c.num ? "num" : null }, c.cell(row)))),
        ),
      ),
    ),
  );
}

// Columns of one score: the score, its 95% interval, n.
export function scoreColumns(survey) {
  return [
    { title: SURVEY_NAMES[survey], num: true, cell: (r) => score(r.score, survey) },
    { title: "95% interval", num: true, cell: (r) => interval(r.ci_low, r.ci_high, survey) },
    { title: "n", num: true, cell: (r) => count(r.n) },
  ];
}

// Lowest score first (each survey reads higher as better); no score last.
export function worstFirst(rows) {
  return [...rows].sort((a, b) => {
    if (a.score === null || a.score === undefined) return 1;
    if (b.score === null || b.score === undefined) return -1;
    return a.score - b.score;
  });
}

export function channelMark(channel) {
  return h("span", {}, h("span", { class: `dot ${channel}`, "aria-hidden": "true" }), channel || "(none)");
}

// Replace a container's children.
export function fill(container, ...children) {
  container.replaceChildren(...children.flat().filter((c) => c));
}
