// Calls to the mmrag REST API: the API key, readable errors, Server-Sent Events.

const KEY_STORAGE = "mmrag.apiKey";

export function apiKey() {
  return localStorage.getItem(KEY_STORAGE) || "";
}

export function setApiKey(key) {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
}

/** An error the API answered with ({"error": {"code", "message"}}) or a network failure. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }

  describe() {
    return this.status ? `${this.message} (${this.code}, HTTP ${this.status})` : this.message;
  }
}

function headers(extra = {}) {
  const key = apiKey();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : { ...extra };
}

async function errorOf(response) {
  let code = "http_error";
  let message = response.statusText || `HTTP ${response.status}`;
  try {
    const body = await response.json();
    if (body && body.error) ({ code, message } = body.error);
  } catch {
    // Not JSON (a proxy's error page): keep the status line.
  }
  return new ApiError(response.status, code, message);
}

/** Fetch with the API key; resolve to the Response, throw ApiError unless it is 2xx. */
export async function call(path, { method = "GET", json, form, signal } = {}) {
  const init = { method, signal, headers: headers() };
  if (json !== undefined) {
    init.headers = headers({ "Content-Type": "application/json" });
    init.body = JSON.stringify(json);
  } else if (form) {
    init.body = form;
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (exc) {
    if (exc.name === "AbortError") throw exc;
    throw new ApiError(0, "network_error", `cannot reach the server: ${exc.message}`);
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

export async function getJson(path, options) {
  return (await call(path, options)).json();
}

/** POST ``json`` or ``form`` and call ``onEvent(name, data)`` for each SSE event. */
export async function stream(path, { json, form, signal }, onEvent) {
  const response = await call(path, { method: "POST", json, form, signal });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = parseEvent(block);
      if (event) onEvent(event.name, event.data);
    }
  }
}

function parseEvent(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  return data.length ? { name, data: JSON.parse(data.join("\n")) } : null;
}

const objectUrls = new Map();

/**
 * Return a URL that an <img>, <audio> or <video> can load ``url`` from. Elements cannot send
 * an Authorization header, so with a key set the media is fetched with it and shown from an
 * object URL; without one the element loads it directly (and seeks with Range requests).
 */
export async function mediaSrc(url) {
  if (!apiKey()) return url;
  const [path, fragment] = url.split("#");
  if (!objectUrls.has(path)) {
    objectUrls.set(
      path,
      call(path).then(async (r) => URL.createObjectURL(await r.blob())),
    );
  }
  try {
    const objectUrl = await objectUrls.get(path);
    return fragment ? `${objectUrl}#${fragment}` : objectUrl;
  } catch (exc) {
    objectUrls.delete(path);
    throw exc;
  }
}

const documents = new Map();

/** Return the document (with its segments), fetched once per page load. */
export function getDocument(id) {
  if (!documents.has(id)) {
    const pending = getJson(`/v1/documents/${encodeURIComponent(id)}`);
    pending.catch(() => documents.delete(id));
    documents.set(id, pending);
  }
  return documents.get(id);
}
