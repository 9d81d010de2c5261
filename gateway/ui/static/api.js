// The gateway's APIs as the page uses them. The access token lives in this module's variable only:
// never in localStorage, sessionStorage, a cookie or a URL. Any 401 forgets it and signs the page out.

// DOMParser is a Trusted Types sink: the page's CSP allows exactly one policy, this one, created here
// (a policy name can be taken once) and used only to parse the command API's XML into an XMLDocument,
// which runs no script. Nothing else in the page may turn a string into markup.
const xmlPolicy = window.trustedTypes
  ? window.trustedTypes.createPolicy("command-xml", {createHTML: (text) => text})
  : {createHTML: (text) => text};

let token = null;
let account = null;  // the signed-in account: {client_id, name, permission, feed, admin}
let onSignedOut = () => {};

export class ApiError extends Error {
  constructor(status, message, details) {
    super(message);
    this.status = status;
    this.details = details || {};
  }
}

export function signedIn() {
  return token !== null;
}

/** The signed-in API account as GET /api/v1/account answers it (null before). */
export function currentAccount() {
  return account;
}

export function whenSignedOut(callback) {
  onSignedOut = callback;
}

/** Forget the token (sign out); ``reason`` is shown on the sign-in form. */
export function signOut(reason) {
  const was = token !== null;
  token = null;
  account = null;
  if (was) onSignedOut(reason || "");
}

/** The command API's XML as an XMLDocument (the one markup parser of the page, through the one policy). */
function parseXml(text) {
  return new DOMParser().parseFromString(xmlPolicy.createHTML(text), "application/xml");
}

async function errorOf(response) {
  let message = `${response.status} ${response.statusText}`.trim();
  let details = {};
  const text = await response.text().catch(() => "");
  try {
    const body = JSON.parse(text);
    if (body && typeof body.message === "string") message = body.message;
    if (body && body.details) details = body.details;
  } catch (_) {
    // The command API answers in XML: its <error> says why (a 401 there signs out with the same reason
    // as one from the JSON API, whichever of the page's parallel requests meets the expired token first).
    if (/xml/.test(response.headers.get("Content-Type") || "")) {
      const error = parseXml(text).getElementsByTagNameNS("*", "error")[0];
      if (error && error.textContent) message = error.textContent;
    }
  }
  if (response.status === 429 && response.headers.get("Retry-After")) {
    message += ` (retry in ${response.headers.get("Retry-After")} s)`;
  }
  return new ApiError(response.status, message, details);
}

/** Exchange client id + secret for a token (client_secret_post, form body). */
export async function signIn(clientId, clientSecret) {
  const body = new URLSearchParams({grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret});
  const response = await fetch("/oauth2/token", {method: "POST", body, cache: "no-store", credentials: "omit"});
  if (!response.ok) throw await errorOf(response);
  const answer = await response.json();
  token = answer.access_token;
  account = await getJson("/api/v1/account");  // its name for the header, its admin permission
}

export function authorization() {
  if (token === null) throw new ApiError(401, "Not signed in.");
  return `Bearer ${token}`;
}

async function call(path, accept, method = "GET", body = undefined) {
  const headers = {Authorization: authorization(), Accept: accept};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store", credentials: "omit",
  });
  if (response.status === 401) {
    const error = await errorOf(response);
    signOut(`Signed out: ${error.message}`);
    throw error;
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

/** GET a JSON resource of /api/v1 with query parameters (arrays become repeated parameters). */
export function queryString(params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value === undefined || value === null || value === "") continue;
    for (const item of Array.isArray(value) ? value : [value]) query.append(name, String(item));
  }
  return query.toString();
}

export async function getJson(path, params) {
  const text = queryString(params);
  return (await call(text ? `${path}?${text}` : path, "application/json")).json();
}

/** POST/PUT/DELETE a JSON body (or none) to /api/v1; the answer's JSON. */
export async function sendJson(method, path, body) {
  return (await call(path, "application/json", method, body)).json();
}

/** A command-API action, parsed as XML (the namespace is whatever the gateway is configured with). */
export async function command(action, params) {
  const query = new URLSearchParams({action, ...(params || {})});
  const doc = parseXml(await (await call(`/api/command?${query}`, "text/xml")).text());
  if (doc.getElementsByTagName("parsererror").length) throw new ApiError(0, `${action}: the answer is not XML.`);
  const error = doc.getElementsByTagNameNS("*", "error")[0];
  if (error) throw new ApiError(200, `${action}: ${error.textContent}`);
  return doc;
}
