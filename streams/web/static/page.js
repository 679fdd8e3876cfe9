// The entry of every served page: marks the current page in the navigation,
// reads the filter form, and polls the page's endpoint while visible.

import { ALERT_FILTERS, mountAlerts } from "./alerts.js";
import { mountComments } from "./comments.js";
import { JOURNEY_FILTERS, mountJourneyMap } from "./journey-map.js";
import { OVERVIEW_FILTERS, mountOverview } from "./overview.js";
import { mountPerson } from "./person.js";
import { api, filterForm, live, pageQuery } from "./ui.js";

for (const link of document.querySelectorAll(".top nav a")) {
  if (link.getAttribute("href") === location.pathname) link.setAttribute("aria-current", "page");
}
const status = document.getElementById("live");
const root = document.getElementById("content");
const problem = document.createElement("p");
problem.className = "error";
problem.setAttribute("role", "alert");
root.before(problem);
filterForm(document.getElementById("filters"));

const pages = {
  overview() {
    const view = mountOverview(root);
    live(async () => {
      const [data, alerts] = await Promise.all([
        api("overview", pageQuery(OVERVIEW_FILTERS)),
        api("alerts").catch(() => null), // the scores still show without them
      ]);
      view.update(data, alerts);
    }, status, problem);
  },
  "journey-map"() {
    const query = pageQuery(JOURNEY_FILTERS);
    const view = mountJourneyMap(root);
    const comments = mountComments(document.getElementById("comments"), query);
    live(async () => {
      view.update(await api("journey-map", query));
      comments.refresh(); // behind the token; its failures are its own
    }, status, problem);
  },
  alerts() {
    const view = mountAlerts(root);
    live(async () => view.update(await api("alerts", pageQuery(ALERT_FILTERS))), status, problem);
  },
  person() {
    mountPerson(root, status);
  },
};

pages[document.body.dataset.page]();
