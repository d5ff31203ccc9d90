// Reads the relay cannot fake: a list the page got from the relay's REST API, checked against
// the same read proven by the chain's validators and verified in the enclave (`verifyRead`).
// The trust root (chain id and validator keys) is the user's setting in this browser; it never
// comes from the relay.
import { relayFetch } from "/shared/api.js";

const TRUST_ROOT = "idos-trust-root";

/** The trust root the user set in this browser, or null. */
export function trustRoot() {
  return localStorage.getItem(TRUST_ROOT) || null;
}

/** Sets (or, with an empty value, clears) the trust root. */
export function setTrustRoot(value) {
  const text = value.trim();
  if (text) localStorage.setItem(TRUST_ROOT, text);
  else localStorage.removeItem(TRUST_ROOT);
}

/** A list whose verified answer does not match what the relay's REST API listed. */
export class ListMismatch extends Error {
  constructor(message) {
    super(message);
    this.name = "ListMismatch";
    this.code = "list_mismatch";
  }
}

/**
 * Verifies that `ids` (what the page listed) is exactly the first page of `query` in the state
 * the validators signed: fetches the proven read, has the enclave verify it, compares ids.
 * @param {{enclave: object, trustRoot: string, query: object, caller: string, minHeight?: number, ids: string[]}} args
 * @returns {Promise<{headerHeight: number, stateHeight: number, chainId: string, complete: boolean}>}
 *   `complete`: the verified page holds the whole list
 * @throws {EnclaveError} with the verification's code, {RelayError}, or {ListMismatch}
 */
export async function verifyList({ enclave, trustRoot, query, caller, minHeight = 0, ids }) {
  const read = await relayFetch("/api/v1/proven-read", { method: "POST", body: { query } });
  const verified = await enclave.verifyRead({ trustRoot, query, read, caller, minHeight });
  if (verified.refusal) throw new ListMismatch(`the verified state refuses this read: ${verified.refusal.message}`);
  const page = verified.output?.value;
  const proven = (page?.items ?? []).map((item) => item.id);
  const complete = !page?.next_cursor;
  const listed = complete ? ids : ids.slice(0, proven.length);
  const same = proven.length === listed.length && proven.every((id) => listed.includes(id));
  if (!same) {
    throw new ListMismatch(`the relay listed ${listed.length} item(s), the validators' state holds ${proven.length} in this list`);
  }
  return { headerHeight: verified.headerHeight, stateHeight: verified.stateHeight, chainId: verified.chainId, complete };
}
