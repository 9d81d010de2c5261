// CSV export of the client table's selection: every record the filters match (count=-1, all pages, up to
// the gateway's GATEWAY_LIST_ALL_MAX), times as ISO 8601 (time_format=iso), downloaded as a file.

import {getJson} from "./api.js";
import {clientName} from "./format.js";

const COLUMNS = [
  ["id", (c) => c.id],
  ["record", (c) => c.record],
  ["type", (c) => c.type],
  ["name", clientName],
  ["hostname", (c) => c.hostname],
  ["platform", (c) => c.platform],
  ["platform_id", (c) => c.platform_id],
  ["connected_since", (c) => c.connected_since],
  ["last_activity", (c) => c.last_activity],
  ["event_count", (c) => c.event_count],
  ["duration", (c) => c.duration],
  ["connected", (c) => c.connected],
  ["disconnected_at", (c) => c.disconnected_at],
  ["disconnect_initiator", (c) => c.disconnect_initiator],
  ["disconnect_reason", (c) => c.disconnect_reason],
  ["appliances", (c) => [...new Set(c.connections.map((x) => x.appliance_id))].join(" ")],
];

/** One CSV field (RFC 4180). Text a spreadsheet would run as a formula (=, +, -, @, tab, CR) gets a
 * leading apostrophe, so a stored hostname cannot become a formula in the operator's spreadsheet. */
export function field(value) {
  if (value === null || value === undefined) return "";
  let text = String(value);
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(items) {
  const lines = [COLUMNS.map(([name]) => name).join(",")];
  for (const client of items) lines.push(COLUMNS.map(([, get]) => field(get(client))).join(","));
  return lines.join("\r\n") + "\r\n";
}

/** Fetch the whole selection of ``query`` (its page left out) and download it; {exported, total}. */
export async function exportCsv(query) {
  const {page, page_size: _size, ...filters} = query;
  const found = await getJson("/api/v1/clients", {...filters, offset: 0, count: -1, time_format: "iso"});
  const blob = new Blob([toCsv(found.items)], {type: "text/csv;charset=utf-8"});
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `clients-${new Date().toISOString().replace(/[:.]/g, "-")}.csv`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60000);  // after the download has read it
  return {exported: found.items.length, total: found.pagination.total};
}
