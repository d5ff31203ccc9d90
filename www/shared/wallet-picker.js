// The wallet chooser every page shows before sign-in: the EIP-6963 wallets found (the
// development wallet among them when the server offers it), one button each, and the sign-in
// that follows a choice (connect, then EIP-4361 through the relay), with its progress in words.
import { discoverWallets, connectWallet } from "./wallets.js";
import { signInWithEthereum } from "./session.js";
import { el, loadInto } from "./ui.js";

/**
 * Fills `list` with the wallets found, a loading state while looking, and an error a person can
 * act on when looking fails.
 * @param {HTMLElement} list
 * @param {{config: () => Promise<{dev_wallet?: boolean}>, prompt: string,
 *          onChoose: (wallet: import("./wallets.js").DiscoveredWallet, button: HTMLButtonElement) => void}} options
 *   `config` loads the page's configuration (which says whether to offer the development wallet),
 *   `prompt` asks the person to choose, `onChoose` runs on a click.
 */
export async function showWalletPicker(list, { config, prompt, onChoose }) {
  const again = () => showWalletPicker(list, { config, prompt, onChoose });
  await loadInto(list, async () => {
    if ((await config()).dev_wallet) await import("/dev-wallet/provider.js");
    return discoverWallets({ timeoutMs: 400 });
  }, (wallets) => {
    if (wallets.length === 0) {
      list.append(el("p", {}, "No browser wallet found. Install one (any EIP-6963 wallet, e.g. MetaMask), then ",
        el("button", { type: "button", class: "retry", id: "rescan", onclick: again }, "look again"), "."));
      return;
    }
    list.append(el("p", {}, prompt));
    const ul = el("ul", { class: "wallets", id: "wallet-choices" });
    for (const w of wallets) {
      ul.append(el("li", {}, el("button", { type: "button", class: "wallet", "data-rdns": w.info.rdns, onclick: (e) => onChoose(w, e.currentTarget) },
        el("img", { src: w.info.icon, alt: "", width: 24, height: 24 }), ` ${w.info.name}`)));
    }
    list.append(ul, el("div", { id: "sign-in-status", role: "status", "aria-live": "polite" }));
  }, { loadingText: "Looking for wallets…" });
}

/**
 * Connects `wallet` and signs in with EIP-4361, telling the person in `status` what their wallet
 * is asking for. Throws (WalletError, RelayError) for the caller's `busy` to show.
 * @param {import("./wallets.js").DiscoveredWallet} wallet
 * @param {HTMLElement} status
 * @param {{relay?: string, chainId?: number, signPrompt?: string}} options
 * @returns {Promise<{address: string, session: {expiresAt: number}}>}
 */
export async function connectAndSignIn(wallet, status, { relay, chainId, signPrompt } = {}) {
  status.replaceChildren(el("p", {}, `Connecting ${wallet.info.name}…`));
  const address = await connectWallet(wallet.provider);
  status.replaceChildren(el("p", {}, signPrompt ?? "Sign the sign-in message in your wallet…"));
  const session = await signInWithEthereum({ provider: wallet.provider, address, relay, chainId: chainId ?? 1 });
  status.replaceChildren();
  return { address, session };
}
