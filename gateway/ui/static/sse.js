// Server-sent events read with fetch(): GET /api/v1/events takes the token only in the Authorization
// header, which EventSource cannot send (and a token in the URL would end up in logs). This is the
// HTML standard's event-stream parser plus EventSource's reconnection with Last-Event-ID.

import {ApiError, authorization, signOut} from "./api.js";

/** Feed text chunks in; ``dispatch({type, data, id})`` is called for every complete event. */
export class EventStreamParser {
  constructor(dispatch) {
    this.dispatch = dispatch;
    this.buffer = "";
    this.data = "";
    this.type = "";
    this.lastEventId = "";
    this.retry = null;
  }

  push(chunk) {
    this.buffer += chunk;
    let start = 0;
    for (;;) {
      const match = /\r\n|\r|\n/g;
      match.lastIndex = start;
      const found = match.exec(this.buffer);
      if (!found) break;
      // A CR at the very end may be the first half of a CRLF split across chunks: wait for more.
      if (found[0] === "\r" && found.index === this.buffer.length - 1) break;
      this.line(this.buffer.slice(start, found.index));
      start = found.index + found[0].length;
    }
    this.buffer = this.buffer.slice(start);
  }

  line(text) {
    if (text === "") return this.flush();
    if (text.startsWith(":")) return;  // a comment (heartbeat)
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data += value + "\n";
    else if (field === "event") this.type = value;
    else if (field === "id" && !value.includes("\0")) this.lastEventId = value;
    else if (field === "retry" && /^\d+$/.test(value)) this.retry = Number(value);
  }

  flush() {
    const data = this.data;
    const type = this.type || "message";
    this.data = "";
    this.type = "";
    if (data === "") return;
    this.dispatch({type, data: data.slice(0, -1), id: this.lastEventId});
  }
}

const sleep = (ms, signal) => new Promise((resolve) => {
  const timer = setTimeout(resolve, ms);
  signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, {once: true});
});

/**
 * A live stream of ``path`` that reconnects (after the server's ``retry:``, or Retry-After on 503)
 * and resumes with Last-Event-ID. Callbacks: onOpen() each time a stream is established (its start
 * point is fixed then), onEvent({type, data, id}), onState("connecting" | "open" | "retrying" | "off", message).
 */
export class LiveStream {
  constructor(path, {onOpen, onEvent, onState}) {
    this.path = path;
    this.onOpen = onOpen || (() => {});
    this.onEvent = onEvent || (() => {});
    this.onState = onState || (() => {});
    this.controller = null;
    this.lastEventId = "";
    this.retryMs = 3000;
  }

  start() {
    this.stop();
    this.controller = new AbortController();
    this.run(this.controller.signal);
  }

  stop() {
    if (this.controller) this.controller.abort();
    this.controller = null;
  }

  async run(signal) {
    let failures = 0;
    while (!signal.aborted) {
      this.onState("connecting");
      let wait = this.retryMs;
      try {
        await this.once(signal);
        failures = 0;
      } catch (error) {
        if (signal.aborted) break;
        if (error instanceof ApiError && error.status === 401) {
          signOut(`Signed out: ${error.message}`);
          break;
        }
        if (error instanceof ApiError && error.status === 403) {
          this.onState("off", error.message);
          break;
        }
        failures += 1;
        wait = error.retryAfterMs || Math.min(30000, this.retryMs * 2 ** Math.min(failures - 1, 4));
      }
      if (signal.aborted) break;
      this.onState("retrying");
      await sleep(wait, signal);
    }
    this.onState("off");
  }

  async once(signal) {
    const headers = {Authorization: authorization(), Accept: "text/event-stream"};
    if (this.lastEventId) headers["Last-Event-ID"] = this.lastEventId;
    const response = await fetch(this.path, {headers, signal, cache: "no-store", credentials: "omit"});
    if (!response.ok) {
      let message = `${response.status} ${response.statusText}`;
      try { message = (await response.json()).message || message; } catch (_) { /* keep the status */ }
      const error = new ApiError(response.status, message);
      if (response.status === 400) this.lastEventId = "";  // a resume point the server does not accept
      const after = Number(response.headers.get("Retry-After"));
      if (after > 0) error.retryAfterMs = after * 1000;
      throw error;
    }
    const parser = new EventStreamParser((event) => this.onEvent(event));
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let opened = false;
    try {
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        if (!opened) {  // the first chunk: the server has fixed where this stream starts
          opened = true;
          this.onState("open");
          this.onOpen();
        }
        parser.push(value);
        if (parser.retry !== null) this.retryMs = parser.retry;
        this.lastEventId = parser.lastEventId || this.lastEventId;
      }
    } finally {
      reader.releaseLock();
    }
  }
}
