// The detail panel: GET /api/v1/clients/<id> (fields, connections, records) and its event log,
// GET /api/v1/clients/<id>/log (newest first, paged).

import {getJson} from "./api.js";
import {h, replace} from "./dom.js";
import {INITIATOR_LABELS, clientName, flag, isoTime, offset, time, typeLabel} from "./format.js";

const LOG_PAGE_SIZE = 20;

export function loadDetail(id, record) {
  return getJson(`/api/v1/clients/${encodeURIComponent(id)}`, {record});
}

export function loadLog(id, page) {
  return getJson(`/api/v1/clients/${encodeURIComponent(id)}/log`, {order: "desc", page, page_size: LOG_PAGE_SIZE});
}

function when(ts) {
  return ts === null || ts === undefined ? "—" : h("time", {datetime: isoTime(ts)}, time(ts));
}

function fields(pairs) {
  return h("dl", {class: "fields"}, pairs.filter(Boolean).flatMap(([name, value]) => [h("dt", null, name), h("dd", null, value)]));
}

function state(client) {
  if (client.connected) return h("span", {class: "badge connected"}, "connected");
  return [h("span", {class: "badge disconnected"}, "disconnected"), " ", when(client.disconnected_at), " ",
    h("span", {class: "initiator"}, INITIATOR_LABELS[client.disconnect_initiator] || client.disconnect_initiator || ""),
    client.disconnect_reason ? ": " : "", h("span", {class: "reason-text"}, client.disconnect_reason || "")];
}

function representative(rep) {
  return [
    ["Username", rep.username], ["User id", String(rep.user_id)], ["Type", rep.type],
    ["Public display name", rep.public_display_name], ["Private display name", rep.private_display_name],
    ["Support sessions", [String(rep.support_session_count), rep.support_session_lsids.length
      ? h("ul", {class: "lsids"}, rep.support_session_lsids.map((lsid) => h("li", null, h("code", null, lsid)))) : ""]],
    ["Presentations", String(rep.presentation_count)],
    ["Routing", `enabled ${flag(rep.routing_enabled)} · available ${flag(rep.routing_available)} · idle ${flag(rep.routing_idle)} · busy ${flag(rep.routing_busy)}`],
    ["On rep list", flag(rep.showing_on_rep_list)], ["License", rep.support_license],
    ["Start session URL", h("code", null, rep.start_session_url)],
  ];
}

function connections(list, appliances) {
  if (!list.length) return h("p", {class: "hint"}, "No appliance connections.");
  return h("table", {class: "grid connections"},
    h("thead", null, h("tr", null, ["Appliance", "Purpose", "Traffic node", "Since", "Private IP"].map((t) => h("th", {scope: "col"}, t)))),
    h("tbody", null, list.map((conn) => {
      const appliance = appliances.get(conn.appliance_id);
      return h("tr", {dataset: {appliance: conn.appliance_id}},
        h("td", {title: conn.appliance_id}, appliance ? appliance.name : conn.appliance_id),
        h("td", null, conn.purpose), h("td", null, flag(conn.receive_traffic_node)),
        h("td", null, when(conn.connected_since)), h("td", null, conn.private_ip));
    })));
}

function records(detail, onRecord) {
  return h("table", {class: "grid records"},
    h("thead", null, h("tr", null, ["Record", "Connected", "Disconnected", "Last activity"].map((t) => h("th", {scope: "col"}, t)))),
    h("tbody", null, detail.records.map((rec) => {
      const open = h("button", {type: "button", class: "link"}, `#${rec.record}`);
      open.addEventListener("click", () => onRecord(rec.record));
      return h("tr", {class: rec.record === detail.record ? "selected" : null},
        h("td", null, open), h("td", null, when(rec.connected_since)),
        h("td", null, rec.connected ? "connected" : [when(rec.disconnected_at), " ",
          INITIATOR_LABELS[rec.disconnect_initiator] || "", rec.disconnect_reason ? `: ${rec.disconnect_reason}` : ""]),
        h("td", null, when(rec.last_activity)));
    })));
}

function eventLog(log, onPage) {
  const {pagination} = log;
  const prev = h("button", {type: "button", id: "log-prev"}, "‹ Newer");
  const next = h("button", {type: "button", id: "log-next"}, "Older ›");
  prev.disabled = !pagination.has_prev;
  next.disabled = !pagination.has_next;
  prev.addEventListener("click", () => onPage(pagination.page - 1));
  next.addEventListener("click", () => onPage(pagination.page + 1));
  return [
    h("table", {class: "grid log", id: "event-log"},
      h("thead", null, h("tr", null, ["Time", "Kind", "Event", "Record"].map((t) => h("th", {scope: "col"}, t)))),
      h("tbody", null, log.items.length ? log.items.map((event) => h("tr", {class: `kind-${event.kind}`, dataset: {seq: event.seq}},
        h("td", null, when(event.ts)), h("td", null, h("span", {class: `badge kind ${event.kind}`}, event.kind)),
        h("td", {class: "text"}, event.text), h("td", null, `#${event.record}`)))
        : h("tr", null, h("td", {colspan: 4}, "No events.")))),
    h("nav", {class: "pager", "aria-label": "Event log pages"}, prev,
      h("span", null, pagination.total ? `${pagination.offset + 1}–${pagination.offset + pagination.count} of ${pagination.total} events` : "0 events"),
      next),
  ];
}

export function renderDetail(titleNode, body, detail, log, appliances, {onRecord, onLogPage}) {
  titleNode.textContent = `${typeLabel(detail.type)} #${detail.id}`;
  const name = clientName(detail);
  const summary = [
    detail.representative ? null : ["Name", name],
    ["Hostname", detail.hostname],
    ["Platform", [h("span", {class: "data"}, detail.platform), " ", h("code", null, detail.platform_id)]],
    ["Time zone", offset(detail.timezone_offset)],
    ["Status", state(detail)],
    ["Connected since", when(detail.connected_since)],
    ["Last activity", when(detail.last_activity)],
    ["Record", `#${detail.record} (${detail.event_count} ${detail.event_count === 1 ? "event" : "events"})`],
    detail.lsid !== undefined ? ["Session lsid", h("code", null, detail.lsid)] : null,
    detail.non_interactive ? ["Non-interactive", detail.non_interactive] : null,
  ];
  replace(body,
    h("div", {class: "detail-fields"},
      h("section", null, fields(summary)),
      detail.representative ? h("section", null, h("h3", null, "Representative"), fields(representative(detail.representative))) : null),
    h("div", {class: "detail-lists"},
      h("section", null, h("h3", null, "Connections"), connections(detail.connections, appliances)),
      h("section", null, h("h3", null, `Records (${detail.records.length})`), records(detail, onRecord)),
      h("section", null, h("h3", null, "Event log"), eventLog(log, onLogPage))));
}
