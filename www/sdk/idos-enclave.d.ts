// Type declarations of the idOS enclave host SDK (idos-enclave.js). Written by hand.

/** Stable error codes. Codes from the protocol crate (e.g. "decryption_failed", "invalid_base64") also appear. */
export type EnclaveErrorCode =
  | "origin_not_allowed" | "config_unavailable" | "enclave_unavailable" | "unknown_method" | "bad_request"
  | "not_configured" | "locked" | "wrong_password" | "user_denied" | "dialog_closed" | "dialog_lost" | "popup_blocked"
  | "timed_out" | "busy" | "storage_failed" | "key_mismatch" | "not_json" | "no_pending_change" | "internal"
  | "destroyed" | "bad_signature"
  | (string & {});

export class EnclaveError extends Error {
  readonly name: "EnclaveError";
  readonly code: EnclaveErrorCode;
  constructor(code: EnclaveErrorCode, message: string);
}

export const SANDBOX: string;
export const METHODS: readonly MethodName[];

export type MethodName =
  | "configure" | "ensureKey" | "encrypt" | "share" | "view" | "release" | "filter" | "backup"
  | "changePassword" | "confirmPasswordChange" | "abandonPasswordChange" | "forget" | "verifyRead";

/** Base64 (standard alphabet, padded) text. */
export type Base64 = string;
/** Lowercase hexadecimal text. */
export type Hex = string;
/** A UUID in its 36-character text form. */
export type Uuid = string;

export interface ConnectOptions {
  /** URL of the enclave page (its origin must list this site in its allow-list). */
  url: string;
  /** Element (or CSS selector) that receives the iframe. It gets class `idos-enclave-visible` while the user must click. */
  container: string | Element;
  /** How long to wait for the enclave to load and accept this page. Default 10000. */
  timeoutMs?: number;
  /** Called when the enclave needs (visible = true) or no longer needs a click from the user. */
  onAttention?: (visible: boolean, label: string) => void;
}

/** A credential row as stored: only what the enclave needs. */
export interface EncryptedCredential {
  id: Uuid;
  /** nonce(24) ‖ tag(16) ‖ ciphertext. */
  content: Base64;
  encryptorPublicKey: Base64;
  /** Shown to the user in the dialog, as your description (not verified). */
  publicNotes?: string;
  /**
   * The issuer's signatures, as stored with the credential: give all three or none. The enclave
   * verifies them before the dialog opens and shows the issuer's key fingerprint; a signature
   * that does not verify rejects with "bad_signature".
   */
  issuerAuthPublicKey?: Hex;
  publicNotesSignature?: Base64;
  broaderSignature?: Base64;
}

export interface Status {
  userId: Uuid;
  unlocked: boolean;
  /** The user's encryption public key, when known. */
  publicKey: Base64 | null;
  /** The new key of a password change waiting for `confirmPasswordChange`, if any. */
  pendingPublicKey: Base64 | null;
}

export interface Encrypted {
  content: Base64;
  encryptorPublicKey: Base64;
}

/** A copy for a grantee: ciphertext and signatures only. */
export interface SharedCopy {
  originalCredentialId: Uuid;
  content: Base64;
  encryptorPublicKey: Base64;
  /** The ephemeral Ed25519 key that signed the copy. */
  issuerAuthPublicKey: Hex;
  publicNotes: "";
  publicNotesSignature: Base64;
  broaderSignature: Base64;
  /** SHA-256 of the plaintext. */
  contentHash: Hex;
}

/** `rotate_encryption_key` arguments, exactly as the protocol serializes them. */
export interface RotateEncryptionKey {
  recipient_encryption_public_key: Base64;
  encryption_password_store: "user";
  originals: { id: Uuid; content: Base64; encryptor_public_key: Base64 }[];
}

/** `pick`: every path must hold one of its values; `omit`: any path holding one of its values rejects. */
export interface PrivateFieldFilter {
  pick?: Record<string, string[]>;
  omit?: Record<string, string[]>;
}

/** What the relay answers to `POST /api/v1/proven-read`: pass it to `verifyRead` as it came. */
export interface ProvenRead {
  height: number;
  entries: Base64[];
  signed_header: object;
  validators: object[];
}

export interface VerifyReadParams {
  /**
   * The chain and validators you trust, never taken from the relay: `<chain id>@<hex Ed25519
   * key>[:<power>],...` (`idos serve` prints its bundled node's as `trust root …`).
   */
  trustRoot: string;
  /** The read, in the protocol's JSON form, e.g. `{"query": "get_credential_shared", "id": "…"}`. */
  query: object;
  /** The relay's answer, unchanged. */
  read: ProvenRead;
  /** The signed-in identity the relay read as (wallet address or key), if the read has a caller. */
  caller?: string;
  /** Refuse answers from before this block: the block of your last committed transaction. */
  minHeight?: number;
  /** Refuse headers older than this. */
  maxHeaderAgeSeconds?: number;
}

/** A read the enclave verified: the answer is its own computation from proven entries. */
export interface VerifiedRead {
  chainId: string;
  /** The header whose validators' signatures and app hash prove the answer. */
  headerHeight: number;
  /** The block whose resulting state the answer describes (`headerHeight - 1`). */
  stateHeight: number;
  /** The header's time, unix seconds. */
  headerTime: number;
  /** The answer (`{kind, value}`, the protocol's JSON form)... */
  output?: { kind: string; value: unknown };
  /** ...or the refusal the proven state gives (e.g. `not_found`): verified too. */
  refusal?: { code: string; message: string };
}

export class Enclave {
  private constructor();
  call(method: MethodName, params?: object): Promise<unknown>;
  /** Sets the user and the public key their profile publishes; restores a remembered key. */
  configure(params: { userId: Uuid; expectedPublicKey?: Base64 | null }): Promise<Status>;
  /** Unlocks (or creates) the key; may ask the user to click and enter their password. */
  ensureKey(): Promise<Status>;
  /** Encrypts text for a recipient (default: the user). */
  encrypt(params: { plaintext: string; recipientPublicKey?: Base64 }): Promise<Encrypted>;
  /**
   * After the user approves the recipient in the dialog: decrypts an original, re-encrypts it for
   * the grantee and signs the copy. Plaintext never leaves. Rejects with "user_denied" otherwise.
   */
  share(params: { credential: EncryptedCredential; granteePublicKey: Base64; granteeLabel?: string }): Promise<SharedCopy>;
  /** Shows the credential to the user inside the enclave dialog. Returns nothing. */
  view(params: { credential: EncryptedCredential }): Promise<Record<string, never>>;
  /** Asks the user; resolves with the plaintext only if they approve, else rejects with "user_denied". */
  release(params: { credential: EncryptedCredential }): Promise<{ plaintext: string }>;
  /**
   * Ids of the credentials whose private fields match, once the user approved this question in the
   * dialog (an approval covers the same question from this page until it is closed). At most 8 paths,
   * 16 values per path, 120 characters per path or value, 500 credentials.
   */
  filter(params: { credentials: EncryptedCredential[] } & PrivateFieldFilter): Promise<{ ids: Uuid[] }>;
  /** Shows the user their key so they can store it. Returns nothing. */
  backup(): Promise<Record<string, never>>;
  /**
   * Asks for the current and a new password; re-encrypts every original to the new key. The old key
   * stays in use until `confirmPasswordChange` (after the rotation is committed) or
   * `abandonPasswordChange`.
   */
  changePassword(params: { originals: EncryptedCredential[] }): Promise<RotateEncryptionKey>;
  /** The rotation to `publicKey` is committed: the enclave switches to the new key. */
  confirmPasswordChange(params: { publicKey: Base64 }): Promise<Status>;
  /** The rotation was not submitted (or failed): the enclave forgets the new key. */
  abandonPasswordChange(): Promise<Status>;
  /** Wipes the key from memory and from this browser. */
  forget(): Promise<Status>;
  /**
   * Verifies a relay's proven read against `trustRoot` alone: the header signed by more than two
   * thirds of the pinned validators' power, every proof against its app hash, the read re-run over
   * the proven entries, and freshness (`minHeight`, `maxHeaderAgeSeconds`, and never older than a
   * state this page already verified). Needs no key and no dialog. Rejects with the check's code:
   * `chain_mismatch`, `validator_set_mismatch`, `header_not_signed`, `header_from_future`,
   * `header_too_old`, `stale_answer`, `proof_malformed`, `proof_value_mismatch`,
   * `proof_list_altered`, `proof_absence_refuted`, `proof_incomplete`.
   */
  verifyRead(params: VerifyReadParams): Promise<VerifiedRead>;
  destroy(): void;
}

export function connectEnclave(options: ConnectOptions): Promise<Enclave>;
