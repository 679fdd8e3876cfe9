// One person (GET /api/person, behind CX_WEB_TOKEN): their identifiers,
// journeys and touchpoints on a timeline. The token is asked once and kept
// in sessionStorage (not a cookie); the identifier lives in the page's
// fragment, so it never reaches a server log or a Referer.

import { timeline } from "./charts.js";
import {
  ApiError, api, bearer, count, fill, h, label, minutes, setStatus, setToken, table, token, tokenForm as askToken, when,
} from "./ui.js";

export function mountPerson(root, status) {
  const tokenForm = askToken("token-form",
    "Person lookups show personal history: they need the worker's token. It is kept in this tab only.",
    () => {
      screens();
      load();
    });
  const lookForm = h("form", { class: "filters", id: "person-form", role: "search" },
    h("label", {}, "Identifier",
      h("input", { type: "text", name: "identifier", required: true, placeholder: "customer_id:C10001785", spellcheck: "false" })),
    h("button", { type: "submit" }, "Look up"),
    h("button", { type: "button", class: "plain", onclick: forget }, "Forget token"),
    h("p", { class: "note" }, "customer_id:, loyalty_id:, anonymous_id:, email: or phone:"));
  const message = h("p", { role: "alert", class: "error" });
  const shown = h("div", { id: "person" });
  fill(root, tokenForm, lookForm, message, shown);
  let timer = null;

  const identifier = () => decodeURIComponent(location.hash.slice(1));

  function screens() {
    tokenForm.hidden = Boolean(token());
    lookForm.hidden = !token();
    lookForm.elements.identifier.value = identifier();
  }
  function forget() {
    setToken(null);
    fill(shown);
    screens();
  }
  lookForm.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = encodeURIComponent(lookForm.elements.identifier.value.trim());
  });
  window.addEventListener("hashchange", () => load());

  async function load() {
    clearTimeout(timer);
    screens();
    if (!token()) {
      setStatus(status, "idle", "Token needed");
      return;
    }
    if (!identifier()) {
      setStatus(status, "idle", "Look someone up");
      return;
    }
    try {
      const params = new URLSearchParams({ identifier: identifier() });
      const data = await api("person", params, bearer());
      message.textContent = "";
      render(shown, data);
      setStatus(status, "live", `Live · updated ${new Date().toLocaleTimeString()}`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        setToken(null);
        screens();
        message.textContent = "The token was not accepted: enter it again.";
      } else {
        message.textContent = error.message;
      }
      setStatus(status, "stale", `Not updated: ${error.message}`);
    }
    if (document.visibilityState === "visible" && token() && identifier()) timer = setTimeout(load, 5000);
  }
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") load();
  });
  load();
}

export function render(container, data) {
  const journeys = data.journeys || [];
  const touchpoints = data.touchpoints || [];
  const chart = container.querySelector(".chart") || h("div", { class: "chart", role: "img", "aria-label": "Touchpoints over time by channel" });
  fill(
    container,
    h("section", { class: "card", "data-person": data.customer_key, "data-journeys": journeys.length, "data-touchpoints": touchpoints.length },
      h("h2", {}, "Person"),
      h("p", { class: "note" }, `${plural(journeys.length, "journey")}, ${plural(touchpoints.length, "touchpoint")}`),
      h("ul", { class: "ids", "aria-label": "identifiers" }, data.identifiers.map((i) => h("li", {}, i)))),
    touchpoints.length
      ? h("section", { class: "card" }, h("h2", {}, "Touchpoints over time"), chart)
      : h("p", { class: "empty" }, "Nothing stored for this identifier."),
    journeys.map(journeyCard),
    touchpoints.length
      ? h("section", { class: "card" },
          table("Touchpoints, in time order",
            [
              { title: "When (UTC)", cell: (t) => when(t.occurred_at_ms) },
              { title: "Channel", cell: (t) => t.channel },
              { title: "Event", cell: (t) => label(t.event_type) },
              { title: "Stage", cell: (t) => label(t.stage || "–") },
              { title: "Store", cell: (t) => t.store_id || "" },
            ],
            touchpoints,
            (t) => ({ "data-event-type": t.event_type })))
      : null,
  );
  if (touchpoints.length) timeline(chart, touchpoints);
}

function plural(n, noun) {
  return `${count(n)} ${noun}${n === 1 ? "" : "s"}`;
}

function journeyCard(j, i) {
  const items = [];
  if (j.converted) {
    const revenue = Object.entries(j.revenue || {}).map(([c, v]) => `${Number(v).toFixed(2)} ${c}`).join(", ");
    items.push(`${count(j.purchases)} purchase${j.purchases === 1 ? "" : "s"} (${revenue}), first on ${j.purchase_channel} after ${minutes(j.time_to_purchase_ms)}`);
  }
  for (const c of j.support || []) {
    items.push(`support on ${c.channel}: ${c.state}, first answer ${minutes(c.first_answer_ms)}, resolved ${minutes(c.resolution_ms)}`);
  }
  for (const s of j.surveys || []) {
    items.push(`${s.survey.toUpperCase()} ${s.score}${s.rated_event_type ? ` rating ${label(s.rated_event_type)} (${label(s.rated_stage)})` : ""}`);
  }
  for (const p of j.pain_points || []) items.push(`pain: ${label(p.kind)} at ${when(p.at_ms)}`);
  return h(
    "section",
    { class: "card journey", "data-journey": j.journey_id },
    h("h3", {}, `Journey ${i + 1} · ${j.ended ? "ended" : "ongoing"} · ${when(j.started_at_ms)} – ${when(j.last_at_ms)} · ${plural(j.touchpoints, "touchpoint")}`),
    h("ol", { class: "path", "aria-label": "stages reached" },
      j.stages.map((stage, k) => h("li", {}, label(stage), j.stage_channels?.[k] ? ` · ${j.stage_channels[k]}` : "",
        h("span", {}, when(j.stage_reached_at_ms[k]).slice(5))))),
    h("p", { class: "note" }, `channels: ${j.channels.join(" → ")} (${j.channel_switches} switch${j.channel_switches === 1 ? "" : "es"})`),
    items.length ? h("ul", {}, items.map((t) => h("li", {}, t))) : null,
  );
}
