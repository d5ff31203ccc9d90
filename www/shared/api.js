// The relay's REST API (/api/v1) from a browser page: JSON in, JSON out, typed errors.

/** A relay answer that is an error (`{code, message}`), or no answer at all. */
export class RelayError extends Error {
  /**
   * @param {string} code stable code: the relay's (e.g. "grant_locked"), or "relay_unreachable",
   *   "bad_answer", "http_<status>"
   * @param {string} message
   * @param {number} status HTTP status, 0 when no answer arrived
   */
  constructor(code, message, status) {
    super(message);
    this.name = "RelayError";
    this.code = code;
    this.status = status;
  }
}

/**
 * Calls the relay.
 * @param {string} path e.g. "/api/v1/me"
 * @param {{method?: string, body?: unknown, relay?: string, token?: string, signal?: AbortSignal}} [options]
 *   `relay`: the relay's base URL (default: this page's origin); `token`: a session bearer token
 *   (default: the same-origin session cookie)
 * @returns {Promise<any>} the parsed JSON answer (null for 204)
 */
export async function relayFetch(path, { method = "GET", body, relay = "", token, signal } = {}) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  const base = relay.replace(/\/$/, "");
  let response;
  try {
    response = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: relay ? "omit" : "same-origin",
      signal,
    });
  } catch (e) {
    if (e?.name === "AbortError") throw e;
    throw new RelayError(
      "relay_unreachable",
      `The idOS relay at ${base || location.origin} cannot be reached. Check your connection, or that the relay is running, and try again.`,
      0,
    );
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let json;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    if (json && typeof json.code === "string") {
      throw new RelayError(json.code, json.message ?? json.code, response.status);
    }
    throw new RelayError(`http_${response.status}`, `The relay answered ${response.status} ${response.statusText}.`, response.status);
  }
  if (json === undefined) {
    throw new RelayError("bad_answer", `The relay's answer to ${path} is not JSON.`, response.status);
  }
  return json;
}
