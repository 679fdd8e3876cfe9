// The static report (`cx report --html`): the overview and the journey map
// drawn from the answers the file carries; nothing is fetched.

import { mountJourneyMap } from "./journey-map.js";
import { mountOverview } from "./overview.js";
import { embedded } from "./ui.js";

mountOverview(document.getElementById("overview")).update(embedded("overview"), embedded("alerts") ?? null);
mountJourneyMap(document.getElementById("journey-map")).update(embedded("journey-map"));
document.body.dataset.drawn = "true";
