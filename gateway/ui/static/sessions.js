// Support sessions (GET /api/v1/sessions), refreshed with the rest of the dashboard when changes arrive.

import {getJson} from "./api.js";
import {h, replace} from "./dom.js";
import {isoTime, time} from "./format.js";

/** At most this many rows are drawn (the count says how many there are). */
const SHOWN = 100;

export async function loadSessions() {
  return (await getJson("/api/v1/sessions")).items;
}

function attributes(values) {
  return Object.entries(values).map(([name, value]) => h("span", {class: "attribute"}, `${name}=${value}`, " "));
}

export function renderSessions(body, count, empty, sessions) {
  replace(body, sessions.slice(0, SHOWN).map((s) => h("tr", {dataset: {lsid: s.lsid}},
    h("td", null, h("code", null, s.lsid)),
    h("td", null, s.queue),
    h("td", null, s.customer_id === null ? "—" : `${s.customer_name} #${s.customer_id}`),
    h("td", null, s.rep_ids.join(", ")),
    h("td", null, attributes(s.attributes)),
    h("td", null, h("time", {datetime: isoTime(s.started_at)}, time(s.started_at))))));
  count.textContent = sessions.length > SHOWN ? `${SHOWN} of ${sessions.length}` : String(sessions.length);
  empty.hidden = sessions.length > 0;
}
