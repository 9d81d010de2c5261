// The dashboard: sign-in, the client table, the per-appliance chart, the detail panel and the live feed.

import {ApiError, accountId, getJson, signIn, signOut, signedIn, whenSignedOut} from "./api.js";
import {loadAppliances, loadSummary, drawChart} from "./chart.js";
import {loadDetail, loadLog, renderDetail} from "./detail.js";
import {$, h, replace} from "./dom.js";
import {feedItem, notice, prepend} from "./feed.js";
import {loadSessions, renderSessions} from "./sessions.js";
import {clientName} from "./format.js";
import {LiveStream} from "./sse.js";
import {loadClients, queryOf, renderClients, renderPager} from "./table.js";

const REFRESH_DELAY_MS = 250;
const TYPING_DELAY_MS = 300;
const FRESH_MS = 4000;

const state = {
  page: 1,
  appliances: new Map(),
  names: new Map(),  // client id -> name, for disconnect events (their payload has no name)
  fresh: new Map(),  // client id -> when the stream last changed it (highlighted rows)
  detail: null,  // {id, record, logPage}
  loads: 0,  // the newest table request; older answers are dropped
  shown: "",  // what the table shows, to skip re-rendering the same answer
  refreshTimer: null,
  stream: null,
};

function showStatus(message) {
  const node = $("status");
  node.textContent = message || "";
  node.hidden = !message;
}

function failed(error) {
  if (error instanceof ApiError && error.status === 401) return;  // signed out already, with the reason
  showStatus(error.message || String(error));
}

// --- sign-in ----------------------------------------------------------------------------------
function showSignIn(message) {
  $("dashboard").hidden = true;
  $("session").hidden = true;
  $("sign-in").hidden = false;
  const error = $("sign-in-error");
  error.textContent = message || "";
  error.hidden = !message;
  $("client-secret").value = "";
  $("client-id").focus();
}

async function onSignIn(event) {
  event.preventDefault();
  const id = $("client-id").value.trim();
  const secret = $("client-secret").value;
  $("client-secret").value = "";  // the secret is not kept anywhere, not even in the form
  $("sign-in-fields").disabled = true;
  try {
    await signIn(id, secret);
    await getJson("/api/v1/clients", {page_size: 1});  // a token without the read permission is of no use here
  } catch (error) {
    signOut();
    showSignIn(error.status === 403 ? `This API account cannot read the registry: ${error.message}` : error.message);
    return;
  } finally {
    $("sign-in-fields").disabled = false;
  }
  $("sign-in").hidden = true;
  $("sign-in-error").hidden = true;
  $("session").hidden = false;
  $("account").textContent = accountId();
  $("dashboard").hidden = false;
  showStatus("");
  await start();
}

function onSignedOut(reason) {
  if (state.stream) state.stream.stop();
  state.stream = null;
  state.detail = null;
  state.fresh.clear();
  state.names.clear();
  state.shown = "";
  replace($("clients-body"));
  replace($("feed"));
  replace($("chart"));
  replace($("sessions-body"));
  $("feed-empty").hidden = false;
  $("detail").hidden = true;
  showSignIn(reason);
}

// --- loading -------------------------------------------------------------------------------------
async function refreshAppliances() {
  state.appliances = await loadAppliances();
  const select = $("filters").elements.appliance;
  const chosen = select.value;
  replace(select, h("option", {value: ""}, "Any"),
    [...state.appliances].map(([guid, a]) => h("option", {value: guid}, a.name || guid)));
  select.value = state.appliances.has(chosen) ? chosen : "";
}

async function start() {
  state.page = 1;
  await refreshAppliances().catch(failed);
  state.stream = new LiveStream("/api/v1/events", {onOpen: scheduleRefresh, onEvent: onChange, onState: showLive});
  state.stream.start();
  await refresh();
}

async function refreshTable() {
  const load = ++state.loads;
  const found = await loadClients(queryOf($("filters"), state.page));
  if (load !== state.loads || !signedIn()) return;
  if (!found.items.length && found.pagination.total && state.page > 1) {  // the page emptied (disconnects)
    state.page = found.pagination.pages;
    return refreshTable();
  }
  const now = Date.now();
  for (const [id, at] of state.fresh) if (now - at > FRESH_MS) state.fresh.delete(id);
  for (const client of found.items) state.names.set(client.id, clientName(client));
  // Unchanged answers leave the rows alone (a selection or a pending click on them survives).
  const shown = JSON.stringify([found, [...state.fresh.keys()], state.detail && state.detail.id]);
  if (shown === state.shown) return;
  state.shown = shown;
  renderClients($("clients-body"), found.items,
    {onOpen: openDetail, fresh: state.fresh, selected: state.detail && state.detail.id});
  renderPager($("page-info"), $("prev-page"), $("next-page"), found.pagination);
  $("clients").dataset.total = found.pagination.total;
}

async function refreshChart() {
  const summaries = await loadSummary();
  if (summaries.some((summary) => !state.appliances.has(summary.id))) await refreshAppliances();  // a new appliance
  drawChart($("chart"), summaries, state.appliances);
}

async function refreshSessions() {
  const sessions = await loadSessions();
  if (!signedIn()) return;
  renderSessions($("sessions-body"), $("sessions-count"), $("sessions-empty"), sessions);
}

async function refreshDetail() {
  const open = state.detail;
  if (!open) return;
  const [detail, log] = await Promise.all([loadDetail(open.id, open.record), loadLog(open.id, open.logPage)]);
  if (state.detail !== open) return;
  renderDetail($("detail-title"), $("detail-body"), detail, log, state.appliances, {
    onRecord: (record) => openDetail(open.id, record),
    onLogPage: (page) => { open.logPage = page; refreshDetail().catch(detailFailed); },
  });
  $("detail").hidden = false;
}

function detailFailed(error) {
  if (error instanceof ApiError && error.status === 404) {  // purged after its retention
    $("detail").hidden = true;
    state.detail = null;
  }
  failed(error);
}

async function refresh() {
  if (!signedIn()) return;
  const results = await Promise.allSettled(
    [refreshTable(), refreshChart(), refreshSessions(), refreshDetail().catch(detailFailed)]);
  const problem = results.find((r) => r.status === "rejected");
  if (problem) failed(problem.reason);
  else showStatus("");
}

function scheduleRefresh() {
  if (state.refreshTimer !== null) return;
  state.refreshTimer = setTimeout(() => {
    state.refreshTimer = null;
    refresh();
  }, REFRESH_DELAY_MS);
}

function openDetail(id, record) {
  state.detail = {id, record, logPage: 1};
  for (const row of $("clients-body").children) row.classList.toggle("selected", row.dataset.id === String(id));
  refreshDetail().then(() => $("detail").scrollIntoView({block: "nearest"})).catch(detailFailed);
}

// --- the live stream -----------------------------------------------------------------------------
function showLive(live, message) {
  const node = $("live");
  node.dataset.state = live;
  node.textContent = {open: "live", connecting: "connecting…", retrying: "reconnecting…", off: "off"}[live] || live;
  if (message) showStatus(`Live updates stopped: ${message}`);
}

function onChange(event) {
  let change;
  try {
    change = JSON.parse(event.data);
  } catch (_) {
    return;
  }
  if (event.type === "resync") {
    addToFeed(notice("Some changes were missed; the table was reloaded."));
  } else if (event.type === "error") {
    showStatus(`Live updates: ${change.message || "the gateway reported an error"}`);
    return;
  } else {
    if (change.kind === "connect") state.names.set(change.client_id, clientName(change.payload.client));
    if (change.kind === "reset") refreshAppliances().catch(failed);  // a fixture brings its own appliances
    if (change.client_id !== null && change.client_id !== undefined) markFresh(change.client_id);
    const item = feedItem(change, state.names);
    if (item) addToFeed(item);
  }
  scheduleRefresh();
}

function markFresh(id) {
  state.fresh.set(id, Date.now());
  setTimeout(() => {  // the highlight fades without waiting for another change
    if (Date.now() - (state.fresh.get(id) || 0) < FRESH_MS) return;
    state.fresh.delete(id);
    for (const row of $("clients-body").querySelectorAll("tr.fresh")) {
      if (row.dataset.id === String(id)) row.classList.remove("fresh");
    }
  }, FRESH_MS + 50);
}

function addToFeed(item) {
  $("feed-empty").hidden = true;
  prepend($("feed"), item);
}

// --- wiring --------------------------------------------------------------------------------------
function filtersChanged() {
  state.page = 1;
  refreshTable().catch(failed);
}

function wire() {
  const form = $("filters");
  let typing = null;
  form.addEventListener("submit", (event) => { event.preventDefault(); filtersChanged(); });
  form.addEventListener("change", filtersChanged);
  form.addEventListener("input", (event) => {
    if (event.target.tagName !== "INPUT" || event.target.type === "checkbox") return;  // those fire change
    clearTimeout(typing);
    typing = setTimeout(filtersChanged, TYPING_DELAY_MS);
  });
  form.addEventListener("reset", () => setTimeout(filtersChanged, 0));
  $("prev-page").addEventListener("click", () => { state.page = Math.max(1, state.page - 1); refreshTable().catch(failed); });
  $("next-page").addEventListener("click", () => { state.page += 1; refreshTable().catch(failed); });
  $("detail-close").addEventListener("click", () => {
    state.detail = null;
    $("detail").hidden = true;
    for (const row of $("clients-body").children) row.classList.remove("selected");
  });
  $("sign-in-form").addEventListener("submit", onSignIn);
  $("sign-out").addEventListener("click", () => signOut("Signed out."));
  whenSignedOut(onSignedOut);
  $("sign-in-fields").disabled = false;
  showSignIn("");
}

wire();
