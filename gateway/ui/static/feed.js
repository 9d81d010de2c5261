// The live list of connects and disconnects (and resets, resyncs) from the event stream.

import {h} from "./dom.js";
import {INITIATOR_LABELS, clientName, isoTime, time, typeLabel} from "./format.js";

const KEEP = 100;

/** One list item for a change event, or null for changes the list does not show (update, event). */
export function feedItem(change, names) {
  const stamp = h("time", {datetime: isoTime(change.ts)}, time(change.ts));
  const id = change.client_id;
  const base = {dataset: {kind: change.kind, seq: change.seq, clientId: id ?? ""}};
  if (change.kind === "connect") {
    const client = change.payload.client;
    return h("li", {...base, class: "feed-item connect"}, stamp, " ",
      h("span", {class: "badge connected"}, "connect"), " ", typeLabel(client.type), ` #${id} `,
      h("span", {class: "who"}, clientName(client)), " ", h("span", {class: "hostname"}, client.hostname));
  }
  if (change.kind === "disconnect") {
    const {reason, initiator} = change.payload;
    return h("li", {...base, class: "feed-item disconnect"}, stamp, " ",
      h("span", {class: "badge disconnected"}, "disconnect"), " ", typeLabel(change.type), ` #${id} `,
      h("span", {class: "who"}, names.get(id) || ""), " ",
      h("span", {class: "initiator"}, INITIATOR_LABELS[initiator] || initiator || ""),
      reason ? ": " : "", h("span", {class: "reason-text"}, reason || ""));
  }
  if (change.kind === "session") {
    const {action, session} = change.payload;
    return h("li", {...base, class: "feed-item session"}, stamp, " ", h("span", {class: "badge"}, "session"),
      ` ${action} `, h("code", {class: "lsid"}, session.lsid), ` in ${session.queue}`);
  }
  if (change.kind === "reset") {
    return h("li", {...base, class: "feed-item notice"}, stamp, " ", h("span", {class: "badge"}, "reset"),
      " The registry was replaced; the table was reloaded.");
  }
  return null;
}

export function notice(text) {
  return h("li", {class: "feed-item notice", dataset: {kind: "notice"}}, h("time", null, time(Date.now() / 1000)), " ", text);
}

export function prepend(list, item) {
  list.prepend(item);
  while (list.children.length > KEEP) list.lastElementChild.remove();
}
