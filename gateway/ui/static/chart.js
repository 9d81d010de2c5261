// Per-type counts per appliance (get_connected_client_list&summary_only=1) as a stacked bar chart,
// drawn with SVG elements; appliance names come from get_appliances. Both are the command API's XML.

import {command} from "./api.js";
import {h, replace, svg} from "./dom.js";
import {TYPE_LABELS, typeLabel} from "./format.js";

const ORDER = ["representative", "support_customer", "presentation_attendee", "push_agent", "pinned_client"];
const LABEL_WIDTH = 190;
const BAR_WIDTH = 360;
const ROW = 30;

function text(parent, name) {
  const node = parent.getElementsByTagNameNS("*", name)[0];
  return node ? node.textContent : "";
}

/** GUID -> {name, hostname}, in the gateway's order. */
export async function loadAppliances() {
  const doc = await command("get_appliances");
  const out = new Map();
  for (const node of doc.getElementsByTagNameNS("*", "appliance")) {
    out.set(node.getAttribute("id"), {name: text(node, "name"), hostname: text(node, "public_hostname")});
  }
  return out;
}

/** [{id, counts: {type: n}}] for every appliance with connected clients. */
export async function loadSummary() {
  const doc = await command("get_connected_client_list", {summary_only: "1"});
  return Array.from(doc.getElementsByTagNameNS("*", "appliance_summary"), (node) => {
    const counts = {};
    for (const count of node.getElementsByTagNameNS("*", "count")) {
      counts[count.getAttribute("type")] = Number(count.textContent);
    }
    return {id: node.getAttribute("id"), counts};
  });
}

function shorten(value, length) {
  return value.length > length ? `${value.slice(0, length - 1)}…` : value;
}

function segmentClass(type) {
  return `seg seg-${Object.hasOwn(TYPE_LABELS, type) ? type : "other"}`;
}

export function drawChart(container, summaries, appliances) {
  if (!summaries.length) {
    replace(container, h("p", {class: "hint", id: "chart-empty"}, "No client is connected."));
    return;
  }
  const present = new Set(summaries.flatMap((s) => Object.keys(s.counts)));
  const types = ORDER.filter((t) => present.has(t)).concat([...present].filter((t) => !ORDER.includes(t)));
  const max = Math.max(1, ...summaries.map((s) => Object.values(s.counts).reduce((a, b) => a + b, 0)));
  const height = summaries.length * ROW + 6;
  const chart = svg("svg", {viewBox: `0 0 ${LABEL_WIDTH + BAR_WIDTH + 60} ${height}`, role: "img",
                           "aria-label": "Connected clients per appliance and type", class: "bars"});
  summaries.forEach((summary, row) => {
    const appliance = appliances.get(summary.id);
    const label = appliance && appliance.name ? appliance.name : summary.id;
    const y = row * ROW + 4;
    const group = svg("g", {class: "appliance", dataset: {appliance: summary.id}});
    group.append(svg("text", {x: LABEL_WIDTH - 8, y: y + ROW / 2, class: "label", "text-anchor": "end",
                              "dominant-baseline": "middle"},
                     svg("title", null, appliance ? `${appliance.name} (${appliance.hostname}) ${summary.id}` : summary.id),
                     shorten(label, 26)));
    let x = LABEL_WIDTH;
    let total = 0;
    for (const type of types) {
      const count = summary.counts[type] || 0;
      if (!count) continue;
      const width = Math.max(2, (count / max) * BAR_WIDTH);
      group.append(svg("rect", {x, y: y + 3, width, height: ROW - 10, class: segmentClass(type),
                                dataset: {type, count}},
                       svg("title", null, `${label}: ${count} ${typeLabel(type)}`)));
      if (width >= 18) {
        group.append(svg("text", {x: x + width / 2, y: y + ROW / 2 - 1, class: "count", "text-anchor": "middle",
                                  "dominant-baseline": "middle"}, String(count)));
      }
      x += width;
      total += count;
    }
    group.append(svg("text", {x: x + 6, y: y + ROW / 2, class: "total", "dominant-baseline": "middle"}, String(total)));
    chart.append(group);
  });
  const legend = h("ul", {class: "legend"}, types.map((type) => h("li", null,
    h("span", {class: `swatch ${segmentClass(type)}`, "aria-hidden": "true"}), typeLabel(type))));
  replace(container, chart, legend);
}
