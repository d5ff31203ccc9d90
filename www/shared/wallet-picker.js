// The wallet chooser every page shows before sign-in: the EIP-6963 wallets (EVM) and the Wallet
// Standard wallets' NEAR, XRPL and Stellar accounts found (the development wallet among them
// when the server offers it), one button each, and the sign-in that follows a choice (connect,
// then EIP-4361 or the wallet sign-in text through the relay), with its progress in words.
import { discoverWalletChoices, connectAccount } from "./wallets.js";
import { signInAccount } from "./session.js";
import { el, loadInto } from "./ui.js";

/**
 * Fills `list` with the wallets found, a loading state while looking, and an error a person can
 * act on when looking fails.
 * @param {HTMLElement} list
 * @param {{config: () => Promise<{dev_wallet?: boolean}>, prompt: string,
 *          onChoose: (wallet: import("./wallets.js").WalletChoice, button: HTMLButtonElement) => void}} options
 *   `config` loads the page's configuration (which says whether to offer the development wallet),
 *   `prompt` asks the person to choose, `onChoose` runs on a click.
 */
export async function showWalletPicker(list, { config, prompt, onChoose }) {
  const again = () => showWalletPicker(list, { config, prompt, onChoose });
  await loadInto(list, async () => {
    if ((await config()).dev_wallet) await import("/dev-wallet/provider.js");
    return discoverWalletChoices({ timeoutMs: 400 });
  }, (wallets) => {
    if (wallets.length === 0) {
      list.append(el("p", {}, "No browser wallet found. Install one (an EIP-6963 wallet such as MetaMask, or a Wallet Standard wallet for NEAR, XRPL or Stellar), then ",
        el("button", { type: "button", class: "retry", id: "rescan", onclick: again }, "look again"), "."));
      return;
    }
    list.append(el("p", {}, prompt));
    const ul = el("ul", { class: "wallets", id: "wallet-choices" });
    for (const w of wallets) {
      ul.append(el("li", {}, el("button", { type: "button", class: "wallet", "data-rdns": w.id, "data-wallet-type": w.walletType, onclick: (e) => onChoose(w, e.currentTarget) },
        el("img", { src: w.icon, alt: "", width: 24, height: 24 }), ` ${w.name}`)));
    }
    list.append(ul, el("div", { id: "sign-in-status", role: "status", "aria-live": "polite" }));
  }, { loadingText: "Looking for wallets…" });
}

/**
 * Connects `wallet` and signs in (EIP-4361 for EVM, the wallet sign-in text for NEAR, XRPL and
 * Stellar), telling the person in `status` what their wallet is asking for. Throws
 * (WalletError, RelayError) for the caller's `busy` to show.
 * @param {import("./wallets.js").WalletChoice} wallet
 * @param {HTMLElement} status
 * @param {{relay?: string, chainId?: number, network?: string, signPrompt?: string}} options
 * @returns {Promise<{account: import("./wallets.js").Account, address: string, session: {expiresAt: number}}>}
 */
export async function connectAndSignIn(wallet, status, { relay, chainId, network, signPrompt } = {}) {
  status.replaceChildren(el("p", {}, `Connecting ${wallet.name}…`));
  const account = await connectAccount(wallet);
  status.replaceChildren(el("p", {}, signPrompt ?? "Sign the sign-in message in your wallet…"));
  const session = await signInAccount({ account, relay, chainId: chainId ?? 1, network });
  status.replaceChildren();
  return { account, address: account.address, session };
}
