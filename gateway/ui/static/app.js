// The dashboard: sign-in, the client table, the per-appliance chart, the detail panel and the live feed.

import {ApiError, currentAccount, getJson, signIn, signOut, signedIn, whenSignedOut} from "./api.js";
import {loadAppliances, loadSummary, drawChart} from "./chart.js";
import {exportCsv} from "./csv.js";
import {loadDetail, loadLog, renderDetail} from "./detail.js";
import {$, h, replace} from "./dom.js";
import {feedItem, notice, prepend} from "./feed.js";
import {loadSessions, renderSessions} from "./sessions.js";
import {clientName} from "./format.js";
import {LiveStream} from "./sse.js";
import {clearEmulator, closeEmulator, openEmulator, wireEmulator} from "./emulator.js";
import {fillForm, loadClients, queryOf, renderClients, renderPager, urlQuery} from "./table.js";

const REFRESH_DELAY_MS = 250;
const TYPING_DELAY_MS = 300;
const FRESH_MS = 4000;

const state = {
  page: 1,
  appliances: new Map(),
  names: new Map(),  // client id -> name, for disconnect events (their payload has no name)
  fresh: new Map(),  // client id -> when the stream last changed it (highlighted rows)
  connected: new Set(),  // ids the stream said connected, not yet seen in the table
  offPage: new Set(),  // of those, ids the table did not show after the connect (another page, filtered out)
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
  const account = currentAccount();
  $("session").hidden = false;
  $("account").textContent = account.name;
  $("account").title = `API account ${account.client_id} (${account.permission}${account.admin ? ", admin" : ""})`;
  $("views").hidden = !account.admin;  // one view only: no tabs
  $("view-emulator").hidden = !account.admin;  // the admin API refuses the others anyway
  showView();
  showStatus("");
  await start();
}

// --- views: the clients (default) and the emulator (#emulator, admin accounts) --------------------
function showView() {
  const account = currentAccount();
  const emulator = location.hash === "#emulator" && !!account && account.admin;
  $("dashboard").hidden = emulator;
  $("emulator").hidden = !emulator;
  $("view-clients").toggleAttribute("aria-current", !emulator);
  $("view-emulator").toggleAttribute("aria-current", emulator);
  if (emulator) openEmulator();
  else closeEmulator();
}

function onSignedOut(reason) {
  clearEmulator();
  $("emulator").hidden = true;
  $("views").hidden = true;
  state.connected.clear();
  state.offPage.clear();
  showNewConnects();
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
  const chosen = select.dataset.wanted || select.value;  // wanted: from the URL, before the list loaded
  delete select.dataset.wanted;
  replace(select, h("option", {value: ""}, "Any"),
    [...state.appliances].map(([guid, a]) => h("option", {value: guid}, a.name || guid)));
  select.value = state.appliances.has(chosen) ? chosen : "";
}

async function start() {
  await refreshAppliances().catch(failed);
  state.stream = new LiveStream("/api/v1/events", {onOpen: scheduleRefresh, onEvent: onChange, onState: showLive});
  state.stream.start();
  await refresh();
}

async function refreshTable() {
  const load = ++state.loads;
  const query = queryOf($("filters"), state.page);
  keepInUrl(query);
  const found = await loadClients(query);
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
  showSort(query);
  // New connects the operator cannot see here: counted in a badge above the table.
  const shownIds = new Set(found.items.map((client) => client.id));
  for (const id of state.connected) {
    if (!shownIds.has(id)) state.offPage.add(id);
  }
  state.connected.clear();
  for (const id of shownIds) state.offPage.delete(id);
  showNewConnects();
}

// --- the URL keeps the filters (a link or a reload shows the same selection) -------------------------
function keepInUrl(query) {
  const search = urlQuery(query);
  if (search === location.search.replace(/^\?/, "")) return;
  history.replaceState(null, "", `${location.pathname}${search ? `?${search}` : ""}${location.hash}`);
}

function fromUrl() {
  const params = new URLSearchParams(location.search);
  fillForm($("filters"), params);
  const page = Number(params.get("page"));
  state.page = Number.isInteger(page) && page > 1 ? page : 1;
}

// --- sortable headers ----------------------------------------------------------------------------------
function showSort(query) {
  for (const th of document.querySelectorAll("#clients th[data-sort]")) {
    const sorted = th.dataset.sort === query.order_by;
    th.setAttribute("aria-sort", sorted ? (query.order === "desc" ? "descending" : "ascending") : "none");
  }
}

function sortBy(key) {
  const form = $("filters");
  if (form.elements.order_by.value === key) {
    form.elements.order.value = form.elements.order.value === "asc" ? "desc" : "asc";
  } else {
    form.elements.order_by.value = key;
    form.elements.order.value = "asc";
  }
  filtersChanged();
}

// --- new connects off the page -------------------------------------------------------------------------
function showNewConnects() {
  const count = state.offPage.size;
  $("new-connects").hidden = count === 0;
  const ids = [...state.offPage].slice(-5).map((id) => `#${id}`).join(", ");
  $("new-connects-text").textContent = count === 1
    ? `A client connected that this page does not show: ${ids}.`
    : `${count} clients connected that this page does not show: ${ids}${count > 5 ? ", …" : ""}.`;
  $("new-connects").dataset.count = count;
}

function showNewest() {
  const form = $("filters");
  form.reset();
  form.elements.order_by.value = "connected_since";
  form.elements.order.value = "desc";
  state.offPage.clear();
  showNewConnects();
  filtersChanged();
}

async function onExport() {
  const button = $("export-csv");
  button.disabled = true;
  try {
    const {exported, total} = await exportCsv(queryOf($("filters"), 1));
    button.dataset.exported = exported;
    if (exported < total) showStatus(`Exported the first ${exported} of ${total} clients (GATEWAY_LIST_ALL_MAX).`);
  } catch (error) {
    failed(error);
  } finally {
    button.disabled = false;
  }
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
    if (change.kind === "connect") {
      state.names.set(change.client_id, clientName(change.payload.client));
      state.connected.add(change.client_id);
    }
    if (change.kind === "disconnect") state.offPage.delete(change.client_id);
    if (change.kind === "reset") state.offPage.clear();
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
  for (const th of document.querySelectorAll("#clients th[data-sort]")) {
    th.querySelector("button").addEventListener("click", () => sortBy(th.dataset.sort));
  }
  $("export-csv").addEventListener("click", onExport);
  $("new-connects-show").addEventListener("click", showNewest);
  $("new-connects-dismiss").addEventListener("click", () => { state.offPage.clear(); showNewConnects(); });
  // The view is the URL's fragment (the query holds the filters): a reload or a link opens the same one.
  $("view-clients").addEventListener("click", () => { history.replaceState(null, "", location.pathname + location.search); showView(); });
  $("view-emulator").addEventListener("click", () => { location.hash = "emulator"; });
  window.addEventListener("hashchange", () => { if (signedIn()) showView(); });
  wireEmulator();
  fromUrl();
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
