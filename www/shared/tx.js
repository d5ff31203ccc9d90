// A transaction from a browser: the relay prepares it (the exact text to sign and the unsigned
// encoding, so the page needs no Borsh), the wallet signs the text (personal_sign for EVM, its
// own message signing for NEAR, XRPL and Stellar: wallets.js `Account.sign`), the relay submits
// it and waits for its block.
import { relayFetch, RelayError } from "./api.js";
import { personalSign, sameWallet } from "./wallets.js";

/**
 * @typedef {"preparing"|"signing"|"submitting"|"committed"} Stage
 * @typedef {{stage: Stage, signingText?: string, hash?: string, height?: number}} StageInfo
 */

/**
 * Checks that the text the relay asks the wallet to sign names the action and signer asked for.
 * (The arguments are named by their SHA-256 digest in the text; a page without a Borsh encoder
 * cannot recompute it, so the action's name, the signer and the chain are what it checks.)
 */
function checkSigningText(prepared, action, address) {
  const lines = prepared.signing_text.split("\n");
  const ok =
    lines[0] === "idOS transaction" &&
    lines[1] === `Action: ${action.action}` &&
    lines.some((l) => l.startsWith("Signer: ") && sameWallet(l.slice("Signer: ".length), address)) &&
    lines.some((l) => l === `Chain ID: ${prepared.chain_id}`);
  if (!ok) {
    throw new RelayError(
      "prepared_mismatch",
      `The relay prepared a transaction that is not the ${action.action} you asked for; nothing was signed.`,
      0,
    );
  }
}

/**
 * Prepares, signs (wallet), submits and waits for the commit of one action.
 * @param {{account?: import("./wallets.js").Account,
 *          provider?: import("./wallets.js").Eip1193Provider, address?: string,
 *          action: {action: string, args: object}, relay?: string, token?: string,
 *          onStage?: (info: StageInfo) => void}} p
 *   the signer: `account` (any wallet type), or an EVM wallet's `provider` and `address`
 * @returns {Promise<{hash: string, height: number}>} once committed; rejects with RelayError
 *   (the node's refusal code, e.g. "grant_locked", when the block refused it; "not_committed" when
 *   the relay's wait ended first) or WalletError (e.g. "user_rejected")
 */
export async function submitAction({ account, provider, address, action, relay = "", token, onStage = () => {} }) {
  const signer = account?.identifier ?? address;
  const sign = account ? (text) => account.sign(text) : (text) => personalSign(provider, address, text);
  onStage({ stage: "preparing" });
  const prepared = await relayFetch("/api/v1/tx/prepare", {
    method: "POST",
    relay,
    token,
    body: { action, signer },
  });
  checkSigningText(prepared, action, signer);
  onStage({ stage: "signing", signingText: prepared.signing_text });
  const signature = await sign(prepared.signing_text);
  onStage({ stage: "submitting", signingText: prepared.signing_text });
  const status = await relayFetch("/api/v1/tx?wait=commit", {
    method: "POST",
    relay,
    token,
    body: { unsigned: prepared.unsigned, signature },
  });
  if (status.status === "refused") {
    const error = status.error ?? { code: "refused", message: "The node refused the transaction." };
    throw new RelayError(error.code, error.message, 409);
  }
  if (status.status !== "committed") {
    throw new RelayError(
      "not_committed",
      `Transaction ${status.hash} was accepted but is not in a block yet. Reload in a moment to see whether it took effect.`,
      202,
    );
  }
  onStage({ stage: "committed", hash: status.hash, height: status.height });
  return { hash: status.hash, height: status.height };
}
