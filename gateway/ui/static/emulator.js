// The emulator view (accounts with the admin permission): the request journal's live tail, the fault rules
// with their counters, the gateway clock and the registry reset, all through /api/v1/admin.

import {ApiError, getJson, sendJson, signedIn} from "./api.js";
import {$, h, replace} from "./dom.js";

const ADMIN = "/api/v1/admin";
const TAIL_MS = 1000;  // how often the journal and the counters are read while the view is open
const KEEP = 200;  // journal rows shown (newest first)
const PAGE = 1000;  // the journal's largest page

const state = {open: false, timer: null, after: 0, filters: "", entries: [], busy: false, onError: null};

function problem(error) {
  if (error instanceof ApiError && error.status === 401) return;  // signed out already
  const node = $("emulator-status");
  node.textContent = error ? (error.message || String(error)) : "";
  node.hidden = !error;
}

// --- clock ---------------------------------------------------------------------------------------
function showClock(clock) {
  const node = $("clock-now");
  node.textContent = clock.iso;
  node.setAttribute("datetime", clock.iso);
  $("clock-state").textContent = clock.frozen ? "frozen" : "running";
  $("clock-state").className = `badge ${clock.frozen ? "disconnected" : "connected"}`;
  $("clock-offset").textContent = clock.offset
    ? `${clock.offset > 0 ? "+" : ""}${clock.offset} s from the system clock` : "On the system clock.";
}

async function clockAction(path, body) {
  showClock(await sendJson("POST", `${ADMIN}/clock/${path}`, body));
}

// --- faults --------------------------------------------------------------------------------------
function describeMatch(rule) {
  const m = rule.match || {};
  const parts = [];
  if (m.face) parts.push(`face ${m.face}`);
  if (m.action) parts.push(`action ${[].concat(m.action).join(", ")}`);
  if (m.account) parts.push(`account ${m.account}`);
  if (m.path) parts.push(`path ${m.path}`);
  return parts.join("; ") || "every request";
}

function describeEffect(rule) {
  const parts = [];
  if (rule.error) parts.push(`error ${rule.error.status}${rule.error.message ? `: ${rule.error.message}` : ""}`);
  if (rule.rate_limit) parts.push(`rate limit (retry after ${rule.rate_limit.retry_after} s)`);
  if (rule.drop) parts.push("drop");
  if (rule.truncate) parts.push(`truncate ${rule.truncate.bytes ?? `${rule.truncate.fraction * 100}%`}`);
  if (rule.latency) parts.push(`latency ${rule.latency.ms ?? `${rule.latency.min_ms}-${rule.latency.max_ms}`} ms`);
  // Effects this view does not know yet still show, as their JSON.
  for (const [name, value] of Object.entries(rule)) {
    if (!KNOWN.has(name)) parts.push(`${name} ${JSON.stringify(value)}`);
  }
  return parts.join(" + ");
}

const KNOWN = new Set(["id", "match", "error", "rate_limit", "drop", "truncate", "latency", "every", "probability",
  "seed", "times", "for_seconds", "matched", "fired", "created_at", "state"]);

function describeWhen(rule) {
  const parts = [];
  if (rule.every) parts.push(`every ${rule.every}`);
  if (rule.probability !== undefined) parts.push(`p=${rule.probability}`);
  if (rule.times) parts.push(`${rule.times} times`);
  if (rule.for_seconds) parts.push(`for ${rule.for_seconds} s`);
  return parts.join(", ") || "always";
}

function showFaults(rules) {
  const rows = rules.map((rule) => {
    const remove = h("button", {type: "button", class: "link", "aria-label": `Remove fault rule ${rule.id}`}, "Remove");
    remove.addEventListener("click", () => {
      sendJson("DELETE", `${ADMIN}/faults/${rule.id}`).then(refreshFaults).then(() => problem(null)).catch(problem);
    });
    return h("tr", {dataset: {id: rule.id, state: rule.state}},
      h("td", {class: "num"}, String(rule.id)),
      h("td", null, describeMatch(rule)),
      h("td", null, describeEffect(rule)),
      h("td", null, describeWhen(rule)),
      h("td", {class: "num matched"}, String(rule.matched)),
      h("td", {class: "num fired"}, String(rule.fired)),
      h("td", null, h("span", {class: `badge ${rule.state === "active" ? "connected" : "disconnected"}`}, rule.state)),
      h("td", null, remove));
  });
  if (!rows.length) rows.push(h("tr", {class: "empty"}, h("td", {colspan: 8}, "No fault rule: every request is served normally.")));
  replace($("faults-body"), rows);
}

async function refreshFaults() {
  showFaults((await getJson(`${ADMIN}/faults`)).faults);
}

/** The rule the add form describes, as POST /admin/faults takes it. */
function ruleOf(form) {
  const data = new FormData(form);
  const rule = {match: {}};
  if (data.get("face")) rule.match.face = data.get("face");
  if (String(data.get("action")).trim()) rule.match.action = String(data.get("action")).trim();
  const value = Number(data.get("value"));
  const effect = data.get("effect");
  if (effect === "error") rule.error = {status: value};
  else if (effect === "latency") rule.latency = {ms: value};
  else if (effect === "rate_limit") rule.rate_limit = {};
  else if (effect === "drop") rule.drop = true;
  else if (effect === "truncate") rule.truncate = {};
  for (const name of ["every", "times"]) if (data.get(name)) rule[name] = Number(data.get(name));
  return rule;
}

// --- journal -------------------------------------------------------------------------------------
function journalQuery() {
  const data = new FormData($("journal-filters"));
  const query = {};
  for (const name of ["action", "account", "face", "status"]) {
    const value = String(data.get(name) || "").trim();
    if (value) query[name] = value;
  }
  return query;
}

function journalRow(entry) {
  const request = `${entry.method} ${entry.path}`;
  return h("tr", {dataset: {seq: entry.seq, status: entry.status, error: entry.error ? "1" : ""},
                  class: entry.error || entry.status >= 400 || entry.fault ? "failed" : null},
    h("td", null, h("time", {datetime: entry.time}, entry.time.replace("T", " ").replace("+00:00", "Z"))),
    h("td", null, entry.face),
    h("td", {class: "request"}, request),
    h("td", null, entry.action || ""),
    h("td", {class: "account-id"}, entry.account || ""),
    h("td", {class: "num"}, String(entry.status ?? "")),
    h("td", {class: "num"}, String(entry.duration_ms ?? "")),
    h("td", null, entry.fault ? (typeof entry.fault === "string" ? entry.fault : JSON.stringify(entry.fault)) : ""),
    h("td", {class: "error-text"}, entry.error || ""));
}

async function readJournal() {
  const query = journalQuery();
  const key = JSON.stringify(query);
  if (key !== state.filters) {  // new filters: the tail starts over
    state.filters = key;
    state.after = 0;
    state.entries = [];
  }
  let fresh = [];
  for (;;) {  // to the end of the journal (it keeps at most GATEWAY_JOURNAL_MAX_ENTRIES)
    const page = await getJson(`${ADMIN}/journal`, {...query, after: state.after, limit: PAGE});
    if (key !== state.filters) return;
    fresh = fresh.concat(page.entries).slice(-KEEP);
    if (page.entries.length) state.after = page.entries[page.entries.length - 1].seq;
    $("journal-live").dataset.state = page.enabled ? "open" : "off";
    $("journal-live").textContent = page.enabled ? "live" : "off (GATEWAY_JOURNAL=false)";
    if (page.next_after === null || page.next_after === undefined) break;
  }
  if (!fresh.length && state.entries.length) return;
  state.entries = fresh.reverse().concat(state.entries).slice(0, KEEP);
  replace($("journal-body"), state.entries.map(journalRow));
  $("journal-empty").hidden = state.entries.length > 0;
}

// --- the view's loop -----------------------------------------------------------------------------
async function tick() {
  state.timer = null;
  if (!state.open || !signedIn()) return;
  try {
    const reads = [refreshFaults(), getJson(`${ADMIN}/clock`).then(showClock)];
    if (!$("journal-pause").checked) reads.push(readJournal());
    await Promise.all(reads);
  } catch (error) {
    problem(error);
  }
  if (state.open && signedIn()) state.timer = setTimeout(tick, TAIL_MS);
}

/** Read now (filters changed) unless a read is under way, which the next round follows. */
function kick() {
  if (state.timer === null) return;
  clearTimeout(state.timer);
  tick();
}

async function loadFixtures() {
  const {fixtures} = await getJson(`${ADMIN}/fixtures`);
  const select = $("reset-form").elements.fixture;
  const names = fixtures.map((f) => (typeof f === "string" ? f : f.name));
  replace(select, names.map((name) => h("option", {value: name}, name)));
  if (names.includes("empty")) select.value = "empty";
}

export function openEmulator() {
  if (state.open) return;
  state.open = true;
  loadFixtures().catch(problem);
  tick();
}

export function closeEmulator() {
  state.open = false;
  clearTimeout(state.timer);
  state.timer = null;
}

/** Forget everything shown (sign-out). */
export function clearEmulator() {
  closeEmulator();
  Object.assign(state, {after: 0, filters: "", entries: []});
  replace($("journal-body"));
  replace($("faults-body"));
  $("journal-empty").hidden = false;
  problem(null);
}

function run(action) {
  return (event) => {
    if (event) event.preventDefault();
    action().then(() => problem(null)).catch(problem);
  };
}

export function wireEmulator() {
  $("clock-advance").addEventListener("submit", run(() =>
    clockAction("advance", {seconds: Number($("clock-advance").elements.seconds.value)})));
  $("clock-freeze").addEventListener("click", run(() => clockAction("freeze")));
  $("clock-unfreeze").addEventListener("click", run(() => clockAction("unfreeze")));
  $("clock-reset").addEventListener("click", run(() => clockAction("reset")));
  $("fault-form").addEventListener("submit", run(async () => {
    await sendJson("POST", `${ADMIN}/faults`, ruleOf($("fault-form")));
    await refreshFaults();
  }));
  $("faults-clear").addEventListener("click", run(async () => {
    await sendJson("DELETE", `${ADMIN}/faults`);
    await refreshFaults();
  }));
  $("journal-clear").addEventListener("click", run(async () => {
    await sendJson("DELETE", `${ADMIN}/journal`);
    Object.assign(state, {entries: []});
    replace($("journal-body"));
    $("journal-empty").hidden = false;
  }));
  let typing = null;
  $("journal-filters").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(kick, 300);
  });
  $("journal-filters").addEventListener("submit", (event) => event.preventDefault());
  // Resetting the registry takes two clicks: the first arms the button for a moment.
  const button = $("reset-button");
  $("reset-form").addEventListener("submit", run(async () => {
    if (button.dataset.armed !== "1") {
      button.dataset.armed = "1";
      button.textContent = "Click again to replace the registry";
      setTimeout(() => { button.dataset.armed = ""; button.textContent = "Reset the registry"; }, 5000);
      return;
    }
    button.dataset.armed = "";
    button.textContent = "Reset the registry";
    const fixture = $("reset-form").elements.fixture.value;
    const answer = await sendJson("POST", `${ADMIN}/reset`, {fixture, keep_accounts: true});
    $("reset-result").textContent = `Registry reset to "${fixture}": ${JSON.stringify(answer)}`;
  }));
}
