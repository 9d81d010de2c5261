// How values are shown: times in UTC (the API's UNIX seconds), client types and names.

export const TYPE_LABELS = {
  representative: "Representative",
  support_customer: "Support customer",
  presentation_attendee: "Presentation attendee",
  push_agent: "Jumpoint",
  pinned_client: "Jump Client (pinned)",
};

export const INITIATOR_LABELS = {client: "by the client", server: "by the server", network: "connection lost"};

export function typeLabel(type) {
  return TYPE_LABELS[type] || String(type);
}

/** 1790000000 -> "2026-09-21 13:46:40Z" (null -> ""). */
export function time(ts) {
  if (ts === null || ts === undefined) return "";
  return new Date(ts * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

export function isoTime(ts) {
  return ts === null || ts === undefined ? "" : new Date(ts * 1000).toISOString();
}

/** What to call a client: a representative's username (and display name), others' name. */
export function clientName(client) {
  if (client.representative) {
    const rep = client.representative;
    return rep.public_display_name && rep.public_display_name !== rep.username
      ? `${rep.username} (${rep.public_display_name})` : rep.username;
  }
  return client.name || "";
}

export function offset(seconds) {
  const sign = seconds < 0 ? "−" : "+";
  const abs = Math.abs(seconds);
  const hours = String(Math.floor(abs / 3600)).padStart(2, "0");
  const minutes = String(Math.floor((abs % 3600) / 60)).padStart(2, "0");
  return `UTC${sign}${hours}:${minutes}`;
}

export function flag(value) {
  return value ? "yes" : "no";
}

/** 3725 -> "1h 2m 5s" (null -> ""). */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const d = Math.floor(seconds / 86400), hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60), secs = seconds % 60;
  const parts = [d && `${d}d`, hours && `${hours}h`, minutes && `${minutes}m`, `${secs}s`].filter(Boolean);
  return parts.slice(0, 3).join(" ");
}
