// The journey map's comments (GET /api/comments, behind CX_WEB_TOKEN): the
// latest free-text comments of survey answers per stage, each with the
// touchpoint it rates. Comments may name people, so they are asked for with
// the token the person page uses (kept in this tab only), and never drawn
// in the static report.

import {
  ApiError, SURVEY_NAMES, api, bearer, count, fill, h, label, setToken, token, tokenForm, when,
} from "./ui.js";

// `query`: the page's filters, which the comments follow.
export function mountComments(root, query) {
  const form = tokenForm("comments-token-form",
    "Comments are free text and may name people: they need the worker's token, as the person page does. It is kept in this tab only.",
    () => refresh());
  const message = h("p", { role: "alert", class: "error", id: "comments-message" });
  const shown = h("div", { id: "comments-shown" });
  const forget = h("button", { type: "button", class: "link" }, "Forget the token");
  forget.addEventListener("click", () => {
    setToken(null);
    fill(shown);
    screens();
  });
  fill(root,
    h("section", { class: "card", "aria-labelledby": "comments-h" },
      h("header", {}, h("h2", { id: "comments-h" }, "Comments per stage"),
        h("p", {}, "the latest answers with a comment, newest first, with the touchpoint each rates")),
      form, message, shown,
      h("p", { class: "note" }, forget)));
  let asking = false;

  function screens() {
    form.hidden = Boolean(token());
    forget.hidden = !token();
  }

  async function refresh() {
    screens();
    if (!token() || asking) return;
    asking = true;
    try {
      const data = await api("comments", query, bearer());
      message.textContent = "";
      root.dataset.state = "shown";
      fill(shown, stageList(data));
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        setToken(null);
        fill(shown);
        screens();
        message.textContent = "The token was not accepted: enter it again.";
      } else if (error instanceof ApiError && error.status === 403) {
        fill(shown);
        form.hidden = true;
        root.dataset.state = "off";
        message.textContent = error.message.charAt(0).toUpperCase() + error.message.slice(1); // off: no token set
      } else {
        message.textContent = `Comments not updated: ${error.message}`; // what is shown stays
      }
    } finally {
      asking = false;
    }
  }

  screens();
  return { refresh };
}

function stageList(data) {
  const sections = [...data.stages];
  if (data.unstaged) sections.push({ stage: "", ...data.unstaged });
  return h("div", { class: "comment-stages" }, sections.map((s) => stageComments(s, data.limit)));
}

function stageComments(s, limit) {
  const name = s.stage ? label(s.stage) : "rating no stage";
  const more = s.comments > s.latest.length ? ` (the latest ${count(s.latest.length)})` : "";
  return h("section", { class: "comment-stage", "data-stage": s.stage, "data-comments": s.comments, "data-limit": limit },
    h("h3", {}, h("span", { class: "name" }, name), ` · ${count(s.comments)} comment${s.comments === 1 ? "" : "s"}${more}`),
    s.latest.length
      ? h("ul", { class: "comments" }, s.latest.map((c) => commentItem(s.stage, c)))
      : h("p", { class: "empty" }, "No comments in this range."));
}

function commentItem(stage, c) {
  const where = [`on ${c.channel}`, c.store_id ? `at ${c.store_id}` : null].filter(Boolean).join(" ");
  const rated = c.touchpoint
    ? `rating ${label(c.touchpoint.event_type)} (${[c.touchpoint.channel, c.touchpoint.store_id].filter(Boolean).join(", ")})`
    : "rating no touchpoint";
  return h("li", {
    class: "comment",
    "data-stage": stage,
    "data-at": c.at,
    "data-survey": c.survey,
    "data-score": c.score,
    "data-touchpoint": c.touchpoint ? c.touchpoint.event_type : "",
  },
  h("q", {}, c.comment),
  h("small", {}, `${SURVEY_NAMES[c.survey] ?? c.survey} ${c.score} · ${when(c.at)} · ${where} · ${rated}`));
}
