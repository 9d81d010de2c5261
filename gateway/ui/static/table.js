// The client table: GET /api/v1/clients with the form's filters, order and page.

import {getJson} from "./api.js";
import {h, replace} from "./dom.js";
import {INITIATOR_LABELS, clientName, duration, isoTime, time, typeLabel} from "./format.js";

const TEXT_FILTERS = ["hostname", "name", "username", "platform"];

export const FILTERS = ["type", "status", "appliance", "order_by", "order", "page_size", ...TEXT_FILTERS];

/** The query of the filter form (page 1-based). */
export function queryOf(form, page) {
  const data = new FormData(form);
  const query = {
    type: data.getAll("type"),
    status: data.get("status"),
    appliance: data.get("appliance"),
    order_by: data.get("order_by"),
    order: data.get("order"),
    page_size: data.get("page_size"),
    page,
  };
  for (const name of TEXT_FILTERS) query[name] = String(data.get(name) || "").trim();
  return query;
}

/** Fill the filter form from a query (the page's URL); names not in FILTERS are ignored. */
export function fillForm(form, params) {
  for (const name of FILTERS) {
    if (!params.has(name)) continue;
    if (name === "type") {
      const chosen = new Set(params.getAll("type").flatMap((v) => v.split(",")));
      for (const box of form.querySelectorAll("input[name=type]")) box.checked = chosen.has(box.value);
    } else {
      const control = form.elements[name];
      const value = params.get(name);
      // A select keeps its value only if it has that option (an appliance may load later: kept aside).
      if (control.tagName === "SELECT" && ![...control.options].some((o) => o.value === value)) {
        control.dataset.wanted = value;
      } else {
        control.value = value;
      }
    }
  }
}

/** The page's own URL for a query: the filters that differ from the form's defaults, and the page. */
export function urlQuery(query) {
  const out = new URLSearchParams();
  for (const name of FILTERS) {
    const value = query[name];
    if (name === "type") for (const t of value) out.append("type", t);
    else if (name === "status" ? value !== "connected" : value && !(DEFAULTS[name] === value)) out.set(name, value || "");
  }
  if (query.page > 1) out.set("page", String(query.page));
  return out.toString();
}

const DEFAULTS = {order_by: "id", order: "asc", page_size: "20"};

export function loadClients(query) {
  return getJson("/api/v1/clients", query);
}

function timeCell(ts) {
  return h("td", null, ts === null || ts === undefined ? "" : h("time", {datetime: isoTime(ts)}, time(ts)));
}

export function statusCell(client) {
  if (client.connected) return h("td", {class: "state"}, h("span", {class: "badge connected"}, "connected"));
  return h("td", {class: "state"},
    h("span", {class: "badge disconnected"}, "disconnected"), " ",
    h("time", {datetime: isoTime(client.disconnected_at)}, time(client.disconnected_at)),
    h("div", {class: "reason"},
      h("span", {class: "initiator"}, INITIATOR_LABELS[client.disconnect_initiator] || client.disconnect_initiator || ""),
      client.disconnect_reason ? ": " : "",
      h("span", {class: "reason-text"}, client.disconnect_reason || "")));
}

/** Fill the table body; ``fresh`` holds ids changed by the live stream (highlighted); returns the rows. */
export function renderClients(body, items, {onOpen, fresh, selected}) {
  const rows = items.map((client) => {
    const open = h("button", {type: "button", class: "link", "aria-label": `Details of client ${client.id}`},
                   String(client.id));
    open.addEventListener("click", (event) => { event.stopPropagation(); onOpen(client.id, client.record); });
    const row = h("tr", {dataset: {id: client.id, record: client.record, type: client.type},
                         class: [fresh.has(client.id) ? "fresh" : "", selected === client.id ? "selected" : ""].join(" ").trim() || null},
      h("td", {class: "num"}, open),
      h("td", null, typeLabel(client.type)),
      h("td", {class: "name"}, clientName(client)),
      h("td", {class: "hostname"}, client.hostname),
      h("td", null, client.platform),
      timeCell(client.connected_since),
      timeCell(client.last_activity),
      h("td", {class: "num"}, String(client.event_count)),
      statusCell(client),
      h("td", {class: "num duration"}, duration(client.duration)));
    row.addEventListener("click", () => onOpen(client.id, client.record));
    return row;
  });
  if (!rows.length) rows.push(h("tr", {class: "empty"}, h("td", {colspan: 10}, "No client matches these filters.")));
  replace(body, rows);
}

export function renderPager(info, prev, next, pagination) {
  const {page, pages, total, offset, count} = pagination;
  info.textContent = total
    ? `${offset + 1}–${offset + count} of ${total} · page ${page} of ${pages}`
    : "0 clients";
  prev.disabled = !pagination.has_prev;
  next.disabled = !pagination.has_next;
}
