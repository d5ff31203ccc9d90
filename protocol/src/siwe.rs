//! Sign-In with Ethereum (EIP-4361): a strict parser of the message text, the EIP-191 check of
//! its signature, and the checks a relying party makes (origin, URI, chain id, times).
//!
//! The parser follows the EIP's ABNF exactly, not the leniency of common libraries:
//!
//! ```text
//! [ scheme "://" ] domain " wants you to sign in with your Ethereum account:" LF
//! address LF
//! LF
//! [ statement LF ]
//! LF
//! "URI: " uri LF
//! "Version: 1" LF
//! "Chain ID: " 1*DIGIT LF
//! "Nonce: " 8*( ALPHA / DIGIT ) LF
//! "Issued At: " date-time
//! [ LF "Expiration Time: " date-time ]
//! [ LF "Not Before: " date-time ]
//! [ LF "Request ID: " *pchar ]
//! [ LF "Resources:" *( LF "- " URI ) ]
//! ```
//!
//! - Lines are separated by `\n` only; nothing may follow the last field (no trailing newline).
//!   Every byte must be printable ASCII or `\n`: the grammar allows nothing else.
//! - `domain` is an RFC 3986 authority; `uri` and each resource an RFC 3986 URI; `statement`
//!   reserved / unreserved characters and spaces.
//! - `address` must be written in its EIP-55 checksummed form. Wallets and the `siwe` library
//!   always write it so; an all-lowercase or all-uppercase address means a message made by
//!   hand, and since the signature covers the exact text there is no reason to accept two
//!   spellings of one message. ([`SiweError::Malformed`] names the checksummed form.)
//! - A statement, when present, is not empty: the EIP allows an empty statement line, but then
//!   the same message could be written with and without the extra blank line. A dapp that has
//!   nothing to say omits the statement.
//! - Timestamps are RFC 3339 `date-time`s with optional fractional seconds (JavaScript wallets
//!   write milliseconds: `2026-12-01T12:00:00.123Z`) and a `Z` or `±hh:mm` offset.
//! - Messages longer than [`MAX_MESSAGE_BYTES`] are refused before parsing.
//!
//! The signature is checked over the exact bytes of the text with the crate's canonical EIP-191
//! recovery ([`crate::identity::recover_eip191`]: 65 bytes, low s, `v` in {27, 28} or {0, 1}).
//! Contract wallets (EIP-1271 / EIP-6492) are not supported: they need a chain call.

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::identity::{EvmAddress, recover_eip191};

/// The longest message accepted, in bytes. Real messages are a few hundred bytes; a dozen
/// resources still fit.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// The shortest nonce the grammar allows (8 alphanumeric characters).
pub const MIN_NONCE_CHARS: usize = 8;

const HEADER_SUFFIX: &str = " wants you to sign in with your Ethereum account:";

/// A parsed EIP-4361 message. Parse with [`SiweMessage::parse`]; the text itself is what is
/// signed, so callers keep it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiweMessage {
    /// The scheme of the first line's `scheme://domain` form (`None` for the bare domain form).
    pub scheme: Option<String>,
    /// The RFC 3986 authority asking for the sign-in (`host[:port]`, rarely `user@host`).
    pub domain: String,
    /// The account signing in.
    pub address: EvmAddress,
    /// What the user is asked to accept, if anything.
    pub statement: Option<String>,
    /// The RFC 3986 URI of the resource the sign-in is for.
    pub uri: String,
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// The relying party's nonce (at least 8 alphanumeric characters).
    pub nonce: String,
    /// When the message was made.
    pub issued_at: OffsetDateTime,
    /// When the message stops being valid.
    pub expiration_time: Option<OffsetDateTime>,
    /// When the message starts being valid.
    pub not_before: Option<OffsetDateTime>,
    /// A system-specific request id (may be empty).
    pub request_id: Option<String>,
    /// The `Resources:` list (`Some(vec![])` when the heading has no entries).
    pub resources: Option<Vec<String>>,
}

/// Why a sign-in message or its signature is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SiweError {
    /// The message is longer than [`MAX_MESSAGE_BYTES`].
    #[error("sign-in message is {actual} bytes, more than the limit of {limit}")]
    TooLarge { actual: usize, limit: usize },

    /// The text is not an EIP-4361 message. `line` counts from 1.
    #[error("not an EIP-4361 sign-in message: line {line}: {reason}")]
    Malformed { line: usize, reason: String },

    /// The signature is not a 65-byte EIP-191 signature, or does not verify.
    #[error(
        "signature: {0} (expected the wallet's personal_sign result: 0x followed by 130 hex digits)"
    )]
    Signature(String),

    /// The signature was made by another account than the message names.
    #[error("the message names {message} but was signed by {signer}")]
    AddressMismatch {
        message: EvmAddress,
        signer: EvmAddress,
    },

    /// The message's origin (`scheme://domain`) is not one this relay accepts sign-ins for.
    #[error(
        "the message asks to sign in to {origin}, which is not this relay's origin or an allowed dapp origin"
    )]
    Domain { origin: String },

    /// The browser's `Origin` header is not the origin the message names: the page that sent
    /// the request is not the one the user signed in to.
    #[error("the request comes from {request_origin} but the message names {message_origin}")]
    OriginMismatch {
        request_origin: String,
        message_origin: String,
    },

    /// The URI is not on the message's origin.
    #[error("URI {uri:?} is not on the origin {origin} the message names")]
    Uri { uri: String, origin: String },

    /// The chain id is not one this relay accepts.
    #[error("chain id {chain_id} is not accepted here (accepted: {accepted:?})")]
    ChainId { chain_id: u64, accepted: Vec<u64> },

    /// `Expiration Time` has passed.
    #[error("the message expired at {at}: sign a new one")]
    Expired { at: String },

    /// `Not Before` has not come yet.
    #[error("the message is not valid before {at}")]
    NotYetValid { at: String },

    /// `Issued At` is in the future (beyond the allowed clock skew).
    #[error("the message was issued at {at}, in the future: check the device's clock")]
    IssuedInFuture { at: String },

    /// `Issued At` is older than the relay accepts.
    #[error("the message was issued at {at}, more than {max_age_seconds} s ago: sign a new one")]
    TooOld { at: String, max_age_seconds: i64 },
}

impl SiweError {
    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            SiweError::TooLarge { .. } => "siwe_too_large",
            SiweError::Malformed { .. } => "siwe_malformed",
            SiweError::Signature(_) => "siwe_signature",
            SiweError::AddressMismatch { .. } => "siwe_address_mismatch",
            SiweError::Domain { .. } => "siwe_domain",
            SiweError::OriginMismatch { .. } => "siwe_origin_mismatch",
            SiweError::Uri { .. } => "siwe_uri",
            SiweError::ChainId { .. } => "siwe_chain_id",
            SiweError::Expired { .. } => "siwe_expired",
            SiweError::NotYetValid { .. } => "siwe_not_yet_valid",
            SiweError::IssuedInFuture { .. } => "siwe_issued_in_future",
            SiweError::TooOld { .. } => "siwe_too_old",
        }
    }
}

fn malformed(line: usize, reason: impl Into<String>) -> SiweError {
    SiweError::Malformed {
        line,
        reason: reason.into(),
    }
}

/// The checks a relying party makes on a parsed, signature-checked message, besides the nonce
/// (which only the relying party's own store can check).
#[derive(Debug, Clone)]
pub struct SiwePolicy<'a> {
    /// Serialized origins (`scheme://host[:port]`) sign-ins are accepted for, compared exactly.
    pub origins: &'a [String],
    /// The browser's `Origin` header, when the request had one.
    pub request_origin: Option<&'a str>,
    /// Accepted EIP-155 chain ids.
    pub chain_ids: &'a [u64],
    /// The current time.
    pub now: OffsetDateTime,
    /// How old `Issued At` may be.
    pub max_age: Duration,
    /// How far ahead of `now` a device's clock may be (`Issued At`, `Not Before`).
    pub clock_skew: Duration,
}

impl SiweMessage {
    /// Parses an EIP-4361 message strictly (see the module documentation).
    pub fn parse(text: &str) -> Result<SiweMessage, SiweError> {
        if text.len() > MAX_MESSAGE_BYTES {
            return Err(SiweError::TooLarge {
                actual: text.len(),
                limit: MAX_MESSAGE_BYTES,
            });
        }
        if let Some(at) = text
            .bytes()
            .position(|b| b != b'\n' && !(0x20..0x7f).contains(&b))
        {
            let line = 1 + text.as_bytes()[..at]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            let what = match text.as_bytes()[at] {
                b'\r' => "a carriage return (lines end with \\n only)".to_owned(),
                b if b < 0x80 => format!("control character 0x{b:02x}"),
                _ => "a non-ASCII character".to_owned(),
            };
            return Err(malformed(line, format!("{what} is not allowed")));
        }
        Lines::new(text).message()
    }

    /// The origin the message asks to sign in to: `scheme://domain`, where a bare domain means
    /// `https` (as EIP-4361 says a relying party may assume).
    pub fn origin(&self) -> String {
        format!(
            "{}://{}",
            self.scheme.as_deref().unwrap_or("https"),
            self.domain
        )
    }

    /// The origins the message may stand for: its own, and for the bare domain form on a
    /// loopback host also `http://domain` (a wallet on a development page at
    /// `http://localhost:8080` writes `localhost:8080`).
    fn candidate_origins(&self) -> Vec<String> {
        let mut origins = vec![self.origin()];
        if self.scheme.is_none() && is_loopback_authority(&self.domain) {
            origins.push(format!("http://{}", self.domain));
        }
        origins
    }

    /// Checks origin, URI, chain id and times against `policy`, in that order.
    pub fn check(&self, policy: &SiwePolicy<'_>) -> Result<(), SiweError> {
        let candidates = self.candidate_origins();
        let origin = candidates
            .iter()
            .find(|o| policy.origins.iter().any(|allowed| allowed == *o))
            .ok_or_else(|| SiweError::Domain {
                origin: self.origin(),
            })?;
        if let Some(request_origin) = policy.request_origin
            && request_origin != origin
        {
            return Err(SiweError::OriginMismatch {
                request_origin: request_origin.chars().take(200).collect(),
                message_origin: origin.clone(),
            });
        }
        let on_origin = self
            .uri
            .strip_prefix(origin.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?', '#']));
        if !on_origin {
            return Err(SiweError::Uri {
                uri: self.uri.clone(),
                origin: origin.clone(),
            });
        }
        if !policy.chain_ids.contains(&self.chain_id) {
            return Err(SiweError::ChainId {
                chain_id: self.chain_id,
                accepted: policy.chain_ids.to_vec(),
            });
        }
        let now = policy.now;
        if let Some(expiration) = self.expiration_time
            && now >= expiration
        {
            return Err(SiweError::Expired {
                at: format_time(expiration),
            });
        }
        if let Some(not_before) = self.not_before
            && now + policy.clock_skew < not_before
        {
            return Err(SiweError::NotYetValid {
                at: format_time(not_before),
            });
        }
        if self.issued_at > now + policy.clock_skew {
            return Err(SiweError::IssuedInFuture {
                at: format_time(self.issued_at),
            });
        }
        if now - self.issued_at > policy.max_age {
            return Err(SiweError::TooOld {
                at: format_time(self.issued_at),
                max_age_seconds: policy.max_age.whole_seconds(),
            });
        }
        Ok(())
    }
}

/// Parses `text` and checks that `signature` (`0x` + 130 hex digits) is the EIP-191 signature
/// of exactly `text` by the address the message names. Returns the message; the relying
/// party then checks its nonce and [`SiweMessage::check`]s it.
pub fn verify(text: &str, signature: &str) -> Result<SiweMessage, SiweError> {
    let message = SiweMessage::parse(text)?;
    verify_signature(&message, text, signature)?;
    Ok(message)
}

/// Checks that `signature` is the EIP-191 signature of exactly `text` (the text `message` was
/// parsed from) by `message.address`.
pub fn verify_signature(
    message: &SiweMessage,
    text: &str,
    signature: &str,
) -> Result<(), SiweError> {
    let bytes = parse_signature(signature)?;
    let signer =
        recover_eip191(text.as_bytes(), &bytes).map_err(|e| SiweError::Signature(e.to_string()))?;
    if signer != message.address {
        return Err(SiweError::AddressMismatch {
            message: message.address,
            signer,
        });
    }
    Ok(())
}

/// `0x` + 130 hex digits → 65 bytes.
pub fn parse_signature(text: &str) -> Result<[u8; 65], SiweError> {
    let digits = text
        .strip_prefix("0x")
        .ok_or_else(|| SiweError::Signature("does not start with 0x".into()))?;
    if digits.len() != 130 {
        return Err(SiweError::Signature(format!(
            "{} hex digits instead of 130",
            digits.len()
        )));
    }
    let mut out = [0u8; 65];
    hex::decode_to_slice(digits, &mut out)
        .map_err(|_| SiweError::Signature("not hexadecimal".into()))?;
    Ok(out)
}

/// RFC 3339 text of a time, for messages.
fn format_time(at: OffsetDateTime) -> String {
    at.format(&Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

fn is_loopback_authority(domain: &str) -> bool {
    let host = if domain.starts_with('[') {
        domain.split_inclusive(']').next().unwrap_or(domain)
    } else {
        domain.split(':').next().unwrap_or(domain)
    };
    host == "localhost"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The message's lines with their 1-based numbers.
struct Lines<'a> {
    lines: Vec<&'a str>,
    next: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Lines {
            lines: text.split('\n').collect(),
            next: 0,
        }
    }

    /// The next line, or an error naming what was expected there.
    fn take(&mut self, expected: &str) -> Result<(usize, &'a str), SiweError> {
        let number = self.next + 1;
        let line = self.lines.get(self.next).copied().ok_or_else(|| {
            malformed(
                number,
                format!("the message ends where {expected} should be"),
            )
        })?;
        self.next += 1;
        Ok((number, line))
    }

    /// The value of the next line, which must be `tag` followed by the value.
    fn field(&mut self, tag: &str) -> Result<(usize, &'a str), SiweError> {
        let (number, line) = self.take(&format!("{tag:?}"))?;
        let value = line.strip_prefix(tag).ok_or_else(|| {
            malformed(number, format!("expected {tag:?}, found {:?}", clip(line)))
        })?;
        Ok((number, value))
    }

    /// The value of the next line if it starts with `tag`.
    fn optional(&mut self, tag: &str) -> Option<(usize, &'a str)> {
        let value = self.lines.get(self.next)?.strip_prefix(tag)?;
        self.next += 1;
        Some((self.next, value))
    }

    fn blank(&mut self, after: &str) -> Result<(), SiweError> {
        let (number, line) = self.take(&format!("the blank line after {after}"))?;
        if line.is_empty() {
            Ok(())
        } else {
            Err(malformed(
                number,
                format!(
                    "expected a blank line after {after}, found {:?}",
                    clip(line)
                ),
            ))
        }
    }

    fn message(mut self) -> Result<SiweMessage, SiweError> {
        let (number, header) = self.take("the header")?;
        let (scheme, domain) = header_origin(number, header)?;

        let (number, address_text) = self.take("the address")?;
        let address = checksummed_address(number, address_text)?;

        self.blank("the address")?;
        let (number, line) = self.take("the statement or a blank line")?;
        let statement = if line.is_empty() {
            None
        } else {
            if !line.bytes().all(is_statement_char) {
                return Err(malformed(
                    number,
                    "the statement may hold letters, digits, spaces and RFC 3986 reserved or unreserved characters only",
                ));
            }
            if line.starts_with("URI: ") && self.lines.get(self.next) != Some(&"") {
                return Err(malformed(
                    number,
                    "expected a blank line before \"URI: \" (two blank lines when there is no statement)",
                ));
            }
            self.blank("the statement")?;
            Some(line.to_owned())
        };

        let (number, uri) = self.field("URI: ")?;
        check_uri(number, "URI", uri)?;

        let (number, version) = self.field("Version: ")?;
        if version != "1" {
            return Err(malformed(
                number,
                format!("version must be 1, found {:?}", clip(version)),
            ));
        }

        let (number, chain_text) = self.field("Chain ID: ")?;
        let chain_id = chain_id(number, chain_text)?;

        let (number, nonce) = self.field("Nonce: ")?;
        if nonce.len() < MIN_NONCE_CHARS || !nonce.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(malformed(
                number,
                "the nonce must be at least 8 letters and digits",
            ));
        }

        let (number, issued) = self.field("Issued At: ")?;
        let issued_at = timestamp(number, "Issued At", issued)?;

        let expiration_time = self
            .optional("Expiration Time: ")
            .map(|(n, v)| timestamp(n, "Expiration Time", v))
            .transpose()?;
        let not_before = self
            .optional("Not Before: ")
            .map(|(n, v)| timestamp(n, "Not Before", v))
            .transpose()?;
        let request_id = self
            .optional("Request ID: ")
            .map(|(n, v)| {
                if is_pchars(v) {
                    Ok(v.to_owned())
                } else {
                    Err(malformed(
                        n,
                        "the request id may hold RFC 3986 path characters only",
                    ))
                }
            })
            .transpose()?;
        let resources = match self.lines.get(self.next) {
            Some(&"Resources:") => {
                self.next += 1;
                let mut list = Vec::new();
                while let Some((number, resource)) = self.optional("- ") {
                    check_uri(number, "resource", resource)?;
                    list.push(resource.to_owned());
                }
                Some(list)
            }
            _ => None,
        };
        if let Some(line) = self.lines.get(self.next) {
            let reason = if line.is_empty() && self.next + 1 == self.lines.len() {
                "the message must not end with a newline".to_owned()
            } else {
                format!(
                    "unexpected {:?}: after \"Issued At\" only Expiration Time, Not Before, Request ID and Resources may follow, in that order, once each",
                    clip(line)
                )
            };
            return Err(malformed(self.next + 1, reason));
        }
        Ok(SiweMessage {
            scheme,
            domain,
            address,
            statement,
            uri: uri.to_owned(),
            chain_id,
            nonce: nonce.to_owned(),
            issued_at,
            expiration_time,
            not_before,
            request_id,
            resources,
        })
    }
}

/// At most 80 characters of a line, for error messages.
fn clip(line: &str) -> String {
    line.chars().take(80).collect()
}

fn header_origin(number: usize, header: &str) -> Result<(Option<String>, String), SiweError> {
    let prefix = header.strip_suffix(HEADER_SUFFIX).ok_or_else(|| {
        malformed(
            number,
            format!("the first line must end with {HEADER_SUFFIX:?}"),
        )
    })?;
    let (scheme, domain) = match prefix.split_once("://") {
        Some((scheme, domain)) => {
            if !is_scheme(scheme) {
                return Err(malformed(number, format!("{scheme:?} is not a URI scheme")));
            }
            (Some(scheme.to_owned()), domain)
        }
        None => (None, prefix),
    };
    if !is_authority(domain) {
        return Err(malformed(
            number,
            format!(
                "{:?} is not a domain (an RFC 3986 authority such as example.com:8080)",
                clip(domain)
            ),
        ));
    }
    Ok((scheme, domain.to_owned()))
}

fn checksummed_address(number: usize, text: &str) -> Result<EvmAddress, SiweError> {
    let bad = || malformed(number, "the address must be 0x followed by 40 hex digits");
    let digits = text.strip_prefix("0x").ok_or_else(bad)?;
    let mut bytes = [0u8; 20];
    // Refuses any length but 40 and any non-hex digit.
    hex::decode_to_slice(digits, &mut bytes).map_err(|_| bad())?;
    let address = EvmAddress(bytes);
    let checksummed = address.to_checksum();
    if checksummed != text {
        return Err(malformed(
            number,
            format!("the address must be in its EIP-55 checksummed form {checksummed}"),
        ));
    }
    Ok(address)
}

fn chain_id(number: usize, text: &str) -> Result<u64, SiweError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed(number, "the chain id must be a decimal number"));
    }
    text.parse()
        .map_err(|_| malformed(number, "the chain id is too large"))
}

/// Whether `text` has the shape of RFC 3339's `date-time` (which the `time` crate's parser
/// is laxer about: it also takes a space for the `T`).
fn is_date_time_shape(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let fixed = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && matches!(b[10], b'T' | b't')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !fixed {
        return false;
    }
    let mut rest = &b[19..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = fraction.iter().take_while(|d| d.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    match rest {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit()),
        _ => false,
    }
}

fn timestamp(number: usize, field: &str, text: &str) -> Result<OffsetDateTime, SiweError> {
    let parsed = if is_date_time_shape(text) {
        OffsetDateTime::parse(text, &Rfc3339).ok()
    } else {
        None
    };
    parsed.ok_or_else(|| {
        malformed(
            number,
            format!(
                "{field}: {:?} is not an RFC 3339 time such as 2026-12-01T12:00:00.123Z",
                clip(text)
            ),
        )
    })
}

// RFC 3986 character classes.

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn is_sub_delim(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

fn is_statement_char(b: u8) -> bool {
    is_unreserved(b)
        || is_sub_delim(b)
        || matches!(b, b':' | b'/' | b'?' | b'#' | b'[' | b']' | b'@' | b' ')
}

fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// Whether every byte of `s` is in `allowed` or part of a `%HH` escape.
fn all_chars(s: &str, allowed: impl Fn(u8) -> bool) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if i + 2 >= b.len() || !(b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit()) {
                return false;
            }
            i += 3;
        } else if allowed(b[i]) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

fn is_pchar(b: u8) -> bool {
    is_unreserved(b) || is_sub_delim(b) || matches!(b, b':' | b'@')
}

fn is_pchars(s: &str) -> bool {
    all_chars(s, is_pchar)
}

/// `[ userinfo "@" ] host [ ":" port ]` with a non-empty host.
fn is_authority(s: &str) -> bool {
    let (userinfo, host_port) = match s.split_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, s),
    };
    if userinfo.is_some_and(|u| !all_chars(u, |b| is_unreserved(b) || is_sub_delim(b) || b == b':'))
    {
        return false;
    }
    let (host, port) = if let Some(rest) = host_port.strip_prefix('[') {
        let Some((literal, after)) = rest.split_once(']') else {
            return false;
        };
        let literal_ok = literal.parse::<std::net::Ipv6Addr>().is_ok()
            || literal.strip_prefix(['v', 'V']).is_some_and(|future| {
                future.split_once('.').is_some_and(|(version, rest)| {
                    !version.is_empty()
                        && version.bytes().all(|b| b.is_ascii_hexdigit())
                        && !rest.is_empty()
                        && rest
                            .bytes()
                            .all(|b| is_unreserved(b) || is_sub_delim(b) || b == b':')
                })
            });
        if !literal_ok {
            return false;
        }
        match after {
            "" => ("[]", None),
            tail => match tail.strip_prefix(':') {
                Some(port) => ("[]", Some(port)),
                None => return false,
            },
        }
    } else {
        match host_port.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    !host.is_empty()
        && all_chars(host, |b| {
            is_unreserved(b) || is_sub_delim(b) || b == b'[' || b == b']'
        })
        && (host == "[]" || !host.contains(['[', ']']))
        && port.is_none_or(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// An RFC 3986 `URI`: `scheme ":" hier-part [ "?" query ] [ "#" fragment ]`.
fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    if !is_scheme(scheme) {
        return false;
    }
    let (rest, fragment) = match rest.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (rest, None),
    };
    let (hier, query) = match rest.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (rest, None),
    };
    let query_ok =
        |q: Option<&str>| q.is_none_or(|q| all_chars(q, |b| is_pchar(b) || b == b'/' || b == b'?'));
    if !query_ok(query) || !query_ok(fragment) {
        return false;
    }
    let path_ok = |p: &str| all_chars(p, |b| is_pchar(b) || b == b'/');
    if let Some(after) = hier.strip_prefix("//") {
        let (authority, path) = match after.find('/') {
            Some(i) => after.split_at(i),
            None => (after, ""),
        };
        // An empty authority (`file:///x`) is valid RFC 3986 but never a sign-in origin.
        (authority.is_empty() || is_authority(authority)) && path_ok(path)
    } else {
        path_ok(hier)
    }
}

fn check_uri(number: usize, what: &str, uri: &str) -> Result<(), SiweError> {
    if is_uri(uri) {
        Ok(())
    } else {
        Err(malformed(
            number,
            format!("{what} {:?} is not an RFC 3986 URI", clip(uri)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::SigningKey;
    use proptest::prelude::*;

    const ADDRESS: &str = "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A"; // key 0x11…11

    fn key() -> SigningKey {
        SigningKey::evm_from_bytes(&[0x11; 32]).unwrap()
    }

    fn sign(text: &str) -> String {
        format!("0x{}", hex::encode(key().sign(text.as_bytes())))
    }

    /// Every field, in the `scheme://domain` form.
    fn full() -> String {
        format!(
            "https://relay.example.com wants you to sign in with your Ethereum account:\n\
             {ADDRESS}\n\
             \n\
             Sign in to idOS.\n\
             \n\
             URI: https://relay.example.com/login\n\
             Version: 1\n\
             Chain ID: 1\n\
             Nonce: abcdefgh12345678\n\
             Issued At: 2026-12-01T12:00:00.123Z\n\
             Expiration Time: 2026-12-01T12:10:00Z\n\
             Not Before: 2026-12-01T11:59:00+00:00\n\
             Request ID: r-1\n\
             Resources:\n\
             - https://relay.example.com/a\n\
             - ipfs://bafy/b"
        )
    }

    /// Only the required fields, in the bare domain form.
    fn minimal() -> String {
        format!(
            "relay.example.com wants you to sign in with your Ethereum account:\n\
             {ADDRESS}\n\
             \n\
             \n\
             URI: https://relay.example.com\n\
             Version: 1\n\
             Chain ID: 1\n\
             Nonce: abcdefgh12345678\n\
             Issued At: 2026-12-01T12:00:00.123Z"
        )
    }

    fn at(text: &str) -> OffsetDateTime {
        OffsetDateTime::parse(text, &Rfc3339).unwrap()
    }

    fn origins() -> Vec<String> {
        vec![
            "https://relay.example.com".to_owned(),
            "http://localhost:8080".to_owned(),
        ]
    }

    fn policy(origins: &[String]) -> SiwePolicy<'_> {
        SiwePolicy {
            origins,
            request_origin: None,
            chain_ids: &[1],
            now: at("2026-12-01T12:01:00Z"),
            max_age: Duration::minutes(10),
            clock_skew: Duration::seconds(30),
        }
    }

    fn code_of(text: &str) -> &'static str {
        SiweMessage::parse(text).unwrap_err().code()
    }

    fn malformed_line(text: &str) -> usize {
        match SiweMessage::parse(text) {
            Err(SiweError::Malformed { line, .. }) => line,
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[test]
    fn a_full_message_parses_field_by_field() {
        let m = SiweMessage::parse(&full()).unwrap();
        assert_eq!(m.scheme.as_deref(), Some("https"));
        assert_eq!(m.domain, "relay.example.com");
        assert_eq!(m.address.to_checksum(), ADDRESS);
        assert_eq!(m.statement.as_deref(), Some("Sign in to idOS."));
        assert_eq!(m.uri, "https://relay.example.com/login");
        assert_eq!(m.chain_id, 1);
        assert_eq!(m.nonce, "abcdefgh12345678");
        assert_eq!(
            m.issued_at.unix_timestamp_nanos(),
            1_796_126_400_123_000_000
        );
        assert_eq!(m.expiration_time, Some(at("2026-12-01T12:10:00Z")));
        assert_eq!(m.not_before, Some(at("2026-12-01T11:59:00Z")));
        assert_eq!(m.request_id.as_deref(), Some("r-1"));
        assert_eq!(
            m.resources,
            Some(vec![
                "https://relay.example.com/a".to_owned(),
                "ipfs://bafy/b".to_owned()
            ])
        );
        assert_eq!(m.origin(), "https://relay.example.com");
    }

    #[test]
    fn a_minimal_message_parses_and_its_bare_domain_means_https() {
        let m = SiweMessage::parse(&minimal()).unwrap();
        assert_eq!(m.scheme, None);
        assert_eq!(m.statement, None);
        assert_eq!(m.expiration_time, None);
        assert_eq!(m.resources, None);
        assert_eq!(m.origin(), "https://relay.example.com");
        m.check(&policy(&origins())).unwrap();
    }

    #[test]
    fn a_signed_message_verifies_and_the_check_passes() {
        let text = full();
        let m = verify(&text, &sign(&text)).unwrap();
        m.check(&policy(&origins())).unwrap();
    }

    #[test]
    fn offsets_and_fractions_are_the_same_instant() {
        let text = full().replace(
            "Issued At: 2026-12-01T12:00:00.123Z",
            "Issued At: 2026-12-01T14:00:00.123456+02:00",
        );
        let m = SiweMessage::parse(&text).unwrap();
        assert_eq!(
            m.issued_at.unix_timestamp_nanos(),
            1_796_126_400_123_456_000
        );
    }

    #[test]
    fn fail_oversize_messages_are_refused_before_parsing() {
        let text = format!("{}{}", full(), "x".repeat(MAX_MESSAGE_BYTES));
        assert_eq!(code_of(&text), "siwe_too_large");
        let text = "\u{0}".repeat(MAX_MESSAGE_BYTES + 1);
        assert_eq!(code_of(&text), "siwe_too_large");
    }

    #[test]
    fn a_message_of_exactly_the_limit_parses() {
        let base = full();
        let pad = MAX_MESSAGE_BYTES - base.len();
        let text = base.replacen(
            "Sign in to idOS.",
            &format!("Sign in to idOS.{}", "x".repeat(pad)),
            1,
        );
        assert_eq!(text.len(), MAX_MESSAGE_BYTES);
        SiweMessage::parse(&text).unwrap();
        let text = base.replacen(
            "Sign in to idOS.",
            &format!("Sign in to idOS.{}", "x".repeat(pad + 1)),
            1,
        );
        assert_eq!(code_of(&text), "siwe_too_large");
    }

    fn reason(text: &str) -> String {
        match SiweMessage::parse(text) {
            Err(SiweError::Malformed { reason, .. }) => reason,
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[test]
    fn fail_bytes_outside_the_grammar_are_named() {
        assert!(reason(&full().replace('\n', "\r\n")).contains("carriage return"));
        assert!(reason(&full().replace("idOS.", "idOS.\t")).contains("control character 0x09"));
        assert!(reason(&full().replace("idOS.", "idOS.\u{7f}")).contains("control character 0x7f"));
        assert!(reason(&full().replace("idOS.", "idÖS.")).contains("non-ASCII"));
    }

    #[test]
    fn fail_crlf_control_and_non_ascii_bytes() {
        assert_eq!(malformed_line(&full().replace('\n', "\r\n")), 1);
        assert_eq!(malformed_line(&full().replace("idOS.", "idOS.\t")), 4);
        assert_eq!(malformed_line(&full().replace("idOS.", "idÖS.")), 4);
        assert_eq!(malformed_line(&full().replace("idOS.", "id\u{7f}OS.")), 4);
    }

    #[test]
    fn fail_header() {
        for bad in [
            "relay.example.com wants you to sign in with your account:",
            "relay.example.com wants you to sign in with your Ethereum account: ",
            " wants you to sign in with your Ethereum account:",
            "https:// wants you to sign in with your Ethereum account:",
            "1https://relay.example.com wants you to sign in with your Ethereum account:",
            "relay.example.com/path wants you to sign in with your Ethereum account:",
            "relay example.com wants you to sign in with your Ethereum account:",
            "relay.example.com:80a wants you to sign in with your Ethereum account:",
            "[::1 wants you to sign in with your Ethereum account:",
            "[zz::1]:80 wants you to sign in with your Ethereum account:",
            "us<er@relay.example.com wants you to sign in with your Ethereum account:",
            "u%4z@relay.example.com wants you to sign in with your Ethereum account:",
            "[v1.] wants you to sign in with your Ethereum account:",
            "[v1.a<b] wants you to sign in with your Ethereum account:",
            "[v.x] wants you to sign in with your Ethereum account:",
            "[vg.x] wants you to sign in with your Ethereum account:",
            "[::1]x wants you to sign in with your Ethereum account:",
        ] {
            let text = minimal().replacen(
                "relay.example.com wants you to sign in with your Ethereum account:",
                bad,
                1,
            );
            assert_eq!(malformed_line(&text), 1, "{bad:?}");
        }
        for good in [
            "[::1]:8080 wants you to sign in with your Ethereum account:",
            "user@relay.example.com wants you to sign in with your Ethereum account:",
            "a+b.c-d://relay.example.com wants you to sign in with your Ethereum account:",
            "user:pw%41@relay.example.com wants you to sign in with your Ethereum account:",
            "[v1.fe:80]:8080 wants you to sign in with your Ethereum account:",
            "[v1f.a!b~c] wants you to sign in with your Ethereum account:",
        ] {
            let text = minimal().replacen(
                "relay.example.com wants you to sign in with your Ethereum account:",
                good,
                1,
            );
            SiweMessage::parse(&text).unwrap();
        }
    }

    #[test]
    fn fail_address_not_checksummed_or_not_an_address() {
        for bad in [
            ADDRESS.to_lowercase(),
            format!("0x{}", ADDRESS[2..].to_uppercase()),
            ADDRESS.replacen('E', "e", 1),
            ADDRESS[..41].to_owned(),
            format!("{ADDRESS}0"),
            ADDRESS.replacen("0x", "0X", 1),
            ADDRESS.replacen("0x", "", 1),
            format!("{}g", &ADDRESS[..41]),
        ] {
            let text = full().replacen(ADDRESS, &bad, 1);
            assert_eq!(malformed_line(&text), 2, "{bad:?}");
        }
    }

    #[test]
    fn fail_blank_lines_and_statement() {
        // The blank line after the address is missing.
        assert_eq!(
            malformed_line(&full().replacen("\n\nSign in", "\nSign in", 1)),
            3
        );
        // The blank line after the statement is missing.
        assert_eq!(
            malformed_line(&full().replacen("idOS.\n\nURI", "idOS.\nURI", 1)),
            5
        );
        // No statement, but only one blank line.
        assert_eq!(
            malformed_line(&minimal().replacen("\n\n\nURI", "\n\nURI", 1)),
            4
        );
        // An empty statement (an extra blank line).
        assert_eq!(
            malformed_line(&minimal().replacen("\n\n\nURI", "\n\n\n\nURI", 1)),
            5
        );
        // Characters outside the statement's alphabet.
        for bad in [
            "say \"hi\"",
            "50%",
            "a<b>",
            "back\\slash",
            "{x}",
            "a|b",
            "^",
            "`",
        ] {
            let text = full().replacen("Sign in to idOS.", bad, 1);
            assert_eq!(malformed_line(&text), 4, "{bad:?}");
        }
        // A statement that looks like the URI line is fine when the blank line follows.
        let text = full().replacen("Sign in to idOS.", "URI: not the uri", 1);
        assert_eq!(
            SiweMessage::parse(&text).unwrap().statement.as_deref(),
            Some("URI: not the uri")
        );
    }

    #[test]
    fn fail_uri() {
        for bad in [
            "relay.example.com",
            "://relay.example.com",
            "https://relay.example.com/a b",
            "https://relay.example.com/%zz",
            "https://relay.example.com/%4",
            "https://relay.example.com/%4z",
            "https://relay.example.com/%z4",
            "https://relay.example.com/%",
            "https://relay.example.com/?a<b",
            "https://relay.example.com/#a<b",
            "https://relay.example.com/?a#b#c",
            "https://relay.example.com/<script>",
            "https://relay example.com",
            "https://relay.example.com:8o/",
            "https://[::1/",
            "",
        ] {
            let text = full().replacen(
                "URI: https://relay.example.com/login",
                &format!("URI: {bad}"),
                1,
            );
            assert_eq!(malformed_line(&text), 6, "{bad:?}");
        }
        for good in [
            "urn:isbn:0451450523",
            "https://relay.example.com/a%20b?x=1&y=/z?#frag/?",
            "https://[::1]:8080/",
            "did:pkh:eip155:1:0xabc",
        ] {
            let text = full().replacen(
                "URI: https://relay.example.com/login",
                &format!("URI: {good}"),
                1,
            );
            SiweMessage::parse(&text).unwrap();
        }
    }

    #[test]
    fn fail_version_chain_id_and_nonce() {
        for (from, to, line) in [
            ("Version: 1", "Version: 2", 7),
            ("Version: 1", "Version: 1 ", 7),
            ("Version: 1", "version: 1", 7),
            ("Chain ID: 1", "Chain ID: ", 8),
            ("Chain ID: 1", "Chain ID: -1", 8),
            ("Chain ID: 1", "Chain ID: 0x1", 8),
            ("Chain ID: 1", "Chain ID: +1", 8),
            ("Chain ID: 1", "Chain ID:  1", 8),
            ("Chain ID: 1", "Chain ID: 99999999999999999999999", 8),
            ("Chain ID: 1", "Chain ID:1", 8),
            ("Nonce: abcdefgh12345678", "Nonce: abcdefg", 9),
            ("Nonce: abcdefgh12345678", "Nonce: abcdefgh-1234567", 9),
            ("Nonce: abcdefgh12345678", "Nonce: ", 9),
        ] {
            let text = full().replacen(from, to, 1);
            assert_eq!(malformed_line(&text), line, "{to:?}");
        }
    }

    #[test]
    fn chain_ids_follow_the_grammar_and_fit_64_bits() {
        let with = |id: &str| full().replacen("Chain ID: 1\n", &format!("Chain ID: {id}\n"), 1);
        assert_eq!(SiweMessage::parse(&with("01")).unwrap().chain_id, 1);
        assert_eq!(
            SiweMessage::parse(&with("18446744073709551615"))
                .unwrap()
                .chain_id,
            u64::MAX
        );
        assert!(reason(&with("18446744073709551616")).contains("too large"));
        assert!(reason(&with("+1")).contains("decimal"));
    }

    #[test]
    fn refusals_quote_the_offending_text_clipped() {
        let text = full().replacen("Version: 1", "Version: 2", 1);
        assert!(reason(&text).contains("found \"2\""), "{}", reason(&text));
        let text = full().replacen("Version: 1", "Versio: 1", 1);
        assert!(
            reason(&text).contains("found \"Versio: 1\""),
            "{}",
            reason(&text)
        );
        let long = "x".repeat(1000);
        let text = full().replacen("Version: 1", &format!("Version: {long}"), 1);
        let r = reason(&text);
        assert!(
            r.contains(&"x".repeat(80)) && !r.contains(&"x".repeat(81)),
            "{r}"
        );
    }

    #[test]
    fn fail_timestamps() {
        for bad in [
            "2026-12-01",
            "2026-12-01T12:00:00",
            "2026-12-01 12:00:00Z",
            "2026-12-01_12:00:00Z",
            "2026-12-1T12:00:00Z",
            "+2026-12-01T12:00:00Z",
            "2026-12-01T12:00Z",
            "2026-12-01T12:00:00+02",
            "2026-12-01T12:00:00+02:00:00",
            "2026-13-01T12:00:00Z",
            "2026-02-30T12:00:00Z",
            "2026-12-01T24:00:00Z",
            "2026-12-01T12:00:00.Z",
            "2026-12-01T12:00:00+0200",
            "2026-12-01T12:00:00Z ",
            "1796126400",
        ] {
            let text = full().replacen("2026-12-01T12:00:00.123Z", bad, 1);
            assert_eq!(malformed_line(&text), 10, "{bad:?}");
            let text = full().replacen(
                "Expiration Time: 2026-12-01T12:10:00Z",
                &format!("Expiration Time: {bad}"),
                1,
            );
            assert_eq!(malformed_line(&text), 11, "{bad:?}");
        }
    }

    #[test]
    fn fail_optional_fields_out_of_order_repeated_or_unknown() {
        let swapped = full().replacen(
            "Expiration Time: 2026-12-01T12:10:00Z\nNot Before: 2026-12-01T11:59:00+00:00",
            "Not Before: 2026-12-01T11:59:00+00:00\nExpiration Time: 2026-12-01T12:10:00Z",
            1,
        );
        assert_eq!(malformed_line(&swapped), 12);
        let repeated = full().replacen("Request ID: r-1", "Request ID: r-1\nRequest ID: r-2", 1);
        assert_eq!(malformed_line(&repeated), 14);
        let unknown = full().replacen("Request ID: r-1", "Request ID: r-1\nColor: blue", 1);
        assert_eq!(malformed_line(&unknown), 14);
        let bad_request_id = full().replacen("Request ID: r-1", "Request ID: r 1", 1);
        assert_eq!(malformed_line(&bad_request_id), 13);
        let bad_resource = full().replacen("- ipfs://bafy/b", "- not a uri", 1);
        assert_eq!(malformed_line(&bad_resource), 16);
        let resource_without_dash = full().replacen("- ipfs://bafy/b", "ipfs://bafy/b", 1);
        assert_eq!(malformed_line(&resource_without_dash), 16);
        let resources_twice = format!("{}\nResources:", full());
        assert_eq!(malformed_line(&resources_twice), 17);
    }

    #[test]
    fn loopback_hosts_in_the_bare_form_stand_for_http_too() {
        let origins: Vec<String> = [
            "http://localhost:8080",
            "http://[::1]:8080",
            "http://127.0.0.1:8080",
            "http://127.0.0.2:8080",
            "http://128.0.0.1:8080",
            "http://example.com:8080",
        ]
        .iter()
        .map(|o| o.to_string())
        .collect();
        let bare = |domain: &str| {
            minimal()
                .replacen("relay.example.com wants", &format!("{domain} wants"), 1)
                .replacen(
                    "URI: https://relay.example.com",
                    &format!("URI: http://{domain}/"),
                    1,
                )
        };
        for domain in [
            "localhost:8080",
            "[::1]:8080",
            "127.0.0.1:8080",
            "127.0.0.2:8080",
        ] {
            let m = SiweMessage::parse(&bare(domain)).unwrap();
            m.check(&policy(&origins))
                .unwrap_or_else(|e| panic!("{domain}: {e}"));
        }
        for domain in ["128.0.0.1:8080", "example.com:8080", "[::2]:8080"] {
            let m = SiweMessage::parse(&bare(domain)).unwrap();
            assert_eq!(
                m.check(&policy(&origins)).unwrap_err().code(),
                "siwe_domain",
                "{domain}"
            );
        }
    }

    #[test]
    fn refusals_name_the_times_and_origins_involved() {
        let origins = origins();
        let mut p = policy(&origins);
        p.now = at("2026-12-01T12:30:00Z");
        let err = SiweMessage::parse(&full()).unwrap().check(&p).unwrap_err();
        assert!(err.to_string().contains("2026-12-01T12:10:00Z"), "{err}");
        p.now = at("2026-12-01T11:00:00Z");
        let later = minimal();
        let err = SiweMessage::parse(&later).unwrap().check(&p).unwrap_err();
        assert!(
            err.to_string().contains("2026-12-01T12:00:00.123Z"),
            "{err}"
        );
        let text = full().replacen(
            "https://relay.example.com wants",
            "https://evil.example.com wants",
            1,
        );
        let err = SiweMessage::parse(&text)
            .unwrap()
            .check(&policy(&origins))
            .unwrap_err();
        assert!(
            err.to_string().contains("https://evil.example.com"),
            "{err}"
        );
    }

    #[test]
    fn fail_trailing_newline_or_junk() {
        assert!(reason(&format!("{}\n", minimal())).contains("must not end with a newline"));
        assert!(reason(&format!("{}\n\n", minimal())).contains("unexpected"));
        assert!(reason(&format!("{}\nx", minimal())).contains("unexpected \"x\""));
        assert_eq!(malformed_line(&format!("{}\n", full())), 17);
        assert_eq!(malformed_line(&format!("{}\n", minimal())), 10);
        assert_eq!(malformed_line(&format!("{}\n\n", minimal())), 10);
        assert_eq!(malformed_line(&format!("{}\nextra", minimal())), 10);
    }

    #[test]
    fn fail_truncated_messages_say_what_is_missing() {
        let text = minimal();
        let mut cut = text.as_str();
        while let Some((head, _)) = cut.rsplit_once('\n') {
            cut = head;
            assert_eq!(code_of(cut), "siwe_malformed", "{cut:?}");
        }
        assert_eq!(code_of(""), "siwe_malformed");
    }

    #[test]
    fn fail_signature_malformed_or_of_other_bytes() {
        let text = full();
        let good = sign(&text);
        for bad in [
            good.trim_start_matches("0x").to_owned(),
            good[..good.len() - 2].to_owned(),
            format!("{good}00"),
            good.replacen('0', "g", 2).replacen("gx", "0x", 1),
            format!("{}1d", &good[..good.len() - 2]), // v = 29
        ] {
            let err = verify(&text, &bad).unwrap_err();
            assert_eq!(err.code(), "siwe_signature", "{bad:?}: {err}");
        }
        // A signature of different bytes recovers some other address.
        let other = sign(&format!("{text} "));
        assert_eq!(
            verify(&text, &other).unwrap_err().code(),
            "siwe_address_mismatch"
        );
        // The high-s twin of a valid signature is refused, not normalized.
        let mut bytes = parse_signature(&good).unwrap();
        use k256::elliptic_curve::PrimeField as _;
        let s =
            k256::Scalar::from_repr(<[u8; 32]>::try_from(&bytes[32..64]).unwrap().into()).unwrap();
        bytes[32..64].copy_from_slice(&(-s).to_bytes());
        bytes[64] ^= 1;
        let twin = format!("0x{}", hex::encode(bytes));
        assert_eq!(verify(&text, &twin).unwrap_err().code(), "siwe_signature");
    }

    #[test]
    fn fail_signature_by_another_account() {
        let text = full();
        let other = SigningKey::evm_from_bytes(&[0x22; 32]).unwrap();
        let sig = format!("0x{}", hex::encode(other.sign(text.as_bytes())));
        let err = verify(&text, &sig).unwrap_err();
        assert_eq!(err.code(), "siwe_address_mismatch");
        assert!(
            err.to_string()
                .contains("0x1563915e194D8CfBA1943570603F7606A3115508"),
            "{err}"
        );
    }

    fn check_code(text: &str, adjust: impl FnOnce(&mut SiwePolicy<'_>)) -> &'static str {
        let origins = origins();
        let mut p = policy(&origins);
        adjust(&mut p);
        SiweMessage::parse(text)
            .unwrap()
            .check(&p)
            .unwrap_err()
            .code()
    }

    #[test]
    fn fail_domain_not_allowed() {
        let text = full().replacen(
            "https://relay.example.com wants",
            "https://evil.example.com wants",
            1,
        );
        assert_eq!(check_code(&text, |_| {}), "siwe_domain");
        let text = full().replacen(
            "https://relay.example.com wants",
            "http://relay.example.com wants",
            1,
        );
        assert_eq!(check_code(&text, |_| {}), "siwe_domain");
        let text = full().replacen(
            "https://relay.example.com wants",
            "https://relay.example.com:443 wants",
            1,
        );
        assert_eq!(check_code(&text, |_| {}), "siwe_domain");
        let text = full().replacen(
            "https://relay.example.com wants",
            "https://RELAY.example.com wants",
            1,
        );
        assert_eq!(check_code(&text, |_| {}), "siwe_domain");
        let text = full().replacen(
            "https://relay.example.com wants",
            "https://x@relay.example.com wants",
            1,
        );
        assert_eq!(check_code(&text, |_| {}), "siwe_domain");
        // The scheme form means exactly its scheme, on loopback too.
        let text = full()
            .replacen(
                "https://relay.example.com wants",
                "https://localhost:8080 wants",
                1,
            )
            .replacen(
                "URI: https://relay.example.com/login",
                "URI: http://localhost:8080/",
                1,
            );
        assert_eq!(check_code(&text, |_| {}), "siwe_domain");
        // A bare non-loopback domain stands for https only.
        let http_only = vec!["http://relay.example.com".to_owned()];
        let text = minimal().replacen("URI: https://", "URI: http://", 1);
        assert_eq!(
            SiweMessage::parse(&text)
                .unwrap()
                .check(&policy(&http_only))
                .unwrap_err()
                .code(),
            "siwe_domain"
        );
        let text = minimal()
            .replacen("relay.example.com wants", "localhost:8080 wants", 1)
            .replacen(
                "URI: https://relay.example.com",
                "URI: http://localhost:8080/",
                1,
            );
        SiweMessage::parse(&text)
            .unwrap()
            .check(&policy(&origins()))
            .unwrap();
        let text = minimal().replacen("relay.example.com wants", "relay.example.com:80 wants", 1);
        assert_eq!(check_code(&text, |_| {}), "siwe_domain");
    }

    #[test]
    fn fail_request_origin_differs_from_the_message() {
        let text = full();
        assert_eq!(
            check_code(&text, |p| p.request_origin = Some("http://localhost:8080")),
            "siwe_origin_mismatch"
        );
        assert_eq!(
            check_code(&text, |p| p.request_origin =
                Some("https://relay.example.com/")),
            "siwe_origin_mismatch"
        );
        let origins = origins();
        let mut p = policy(&origins);
        p.request_origin = Some("https://relay.example.com");
        SiweMessage::parse(&text).unwrap().check(&p).unwrap();
    }

    #[test]
    fn fail_uri_not_on_the_origin() {
        for bad in [
            "https://evil.example.com/login",
            "https://relay.example.com.evil.com/",
            "https://relay.example.com:444/",
            "https://relay.example.com@evil.com/",
            "http://relay.example.com/",
            "urn:relay.example.com",
        ] {
            let text = full().replacen(
                "URI: https://relay.example.com/login",
                &format!("URI: {bad}"),
                1,
            );
            assert_eq!(check_code(&text, |_| {}), "siwe_uri", "{bad:?}");
        }
        for good in [
            "https://relay.example.com",
            "https://relay.example.com/",
            "https://relay.example.com?x=1",
            "https://relay.example.com#a",
        ] {
            let text = full().replacen(
                "URI: https://relay.example.com/login",
                &format!("URI: {good}"),
                1,
            );
            SiweMessage::parse(&text)
                .unwrap()
                .check(&policy(&origins()))
                .unwrap();
        }
    }

    #[test]
    fn fail_chain_id_not_accepted() {
        let text = full().replacen("Chain ID: 1\n", "Chain ID: 137\n", 1);
        assert_eq!(check_code(&text, |_| {}), "siwe_chain_id");
        let origins = origins();
        let mut p = policy(&origins);
        p.chain_ids = &[1, 137];
        SiweMessage::parse(&text).unwrap().check(&p).unwrap();
        assert_eq!(check_code(&full(), |p| p.chain_ids = &[]), "siwe_chain_id");
    }

    #[test]
    fn fail_times() {
        let text = full(); // issued 12:00:00.123, not before 11:59, expires 12:10
        assert_eq!(
            check_code(&text, |p| p.now = at("2026-12-01T12:10:00Z")),
            "siwe_expired"
        );
        assert_eq!(
            check_code(&text, |p| p.now = at("2026-12-01T12:30:00Z")),
            "siwe_expired"
        );
        // Just before expiry is fine.
        let origins = origins();
        let mut p = policy(&origins);
        p.now = at("2026-12-01T12:09:59.999Z");
        SiweMessage::parse(&text).unwrap().check(&p).unwrap();

        let later = text.replacen(
            "Not Before: 2026-12-01T11:59:00+00:00",
            "Not Before: 2026-12-01T12:05:00Z",
            1,
        );
        assert_eq!(check_code(&later, |_| {}), "siwe_not_yet_valid");
        // Within the skew is fine.
        let mut p = policy(&origins);
        p.now = at("2026-12-01T12:04:31Z");
        SiweMessage::parse(&later).unwrap().check(&p).unwrap();

        assert_eq!(
            check_code(&minimal(), |p| p.now = at("2026-12-01T11:59:00Z")),
            "siwe_issued_in_future"
        );
        let mut p = policy(&origins);
        p.now = at("2026-12-01T11:59:30.124Z"); // 29.999 s ahead: within the skew
        SiweMessage::parse(&minimal()).unwrap().check(&p).unwrap();

        // Exactly at the skew's edge is still fine, for Not Before and Issued At alike.
        let mut p = policy(&origins);
        p.now = at("2026-12-01T12:04:30Z");
        SiweMessage::parse(&later).unwrap().check(&p).unwrap();
        p.now = at("2026-12-01T11:59:30.123Z");
        SiweMessage::parse(&minimal()).unwrap().check(&p).unwrap();
        p.now = at("2026-12-01T11:59:30.122Z");
        assert_eq!(
            SiweMessage::parse(&minimal())
                .unwrap()
                .check(&p)
                .unwrap_err()
                .code(),
            "siwe_issued_in_future"
        );
        assert_eq!(
            check_code(&minimal(), |p| p.now = at("2026-12-01T12:10:00.124Z")),
            "siwe_too_old"
        );
        let mut p = policy(&origins);
        p.now = at("2026-12-01T12:10:00.123Z"); // exactly the maximum age
        SiweMessage::parse(&minimal()).unwrap().check(&p).unwrap();
    }

    #[test]
    fn every_error_has_a_distinct_code() {
        let errors = [
            SiweError::TooLarge {
                actual: 0,
                limit: 0,
            },
            malformed(1, ""),
            SiweError::Signature(String::new()),
            SiweError::AddressMismatch {
                message: EvmAddress([0; 20]),
                signer: EvmAddress([1; 20]),
            },
            SiweError::Domain {
                origin: String::new(),
            },
            SiweError::OriginMismatch {
                request_origin: String::new(),
                message_origin: String::new(),
            },
            SiweError::Uri {
                uri: String::new(),
                origin: String::new(),
            },
            SiweError::ChainId {
                chain_id: 0,
                accepted: vec![],
            },
            SiweError::Expired { at: String::new() },
            SiweError::NotYetValid { at: String::new() },
            SiweError::IssuedInFuture { at: String::new() },
            SiweError::TooOld {
                at: String::new(),
                max_age_seconds: 0,
            },
        ];
        let codes: std::collections::BTreeSet<_> = errors.iter().map(SiweError::code).collect();
        assert_eq!(codes.len(), errors.len());
        assert!(codes.iter().all(|c| c.starts_with("siwe_")));
    }

    fn lines(text: &str) -> Vec<&str> {
        text.split('\n').collect()
    }

    #[test]
    fn fail_every_single_line_deletion_or_duplication_of_a_minimal_message() {
        let text = minimal();
        let original = lines(&text);
        for i in 0..original.len() {
            let mut deleted = original.clone();
            deleted.remove(i);
            assert_eq!(
                code_of(&deleted.join("\n")),
                "siwe_malformed",
                "without line {i}"
            );
            let mut duplicated = original.clone();
            duplicated.insert(i, original[i]);
            assert_eq!(
                code_of(&duplicated.join("\n")),
                "siwe_malformed",
                "line {i} twice"
            );
        }
    }

    #[test]
    fn every_single_line_deletion_or_duplication_of_a_full_message_is_refused_or_changes_it() {
        let text = full();
        let original = SiweMessage::parse(&text).unwrap();
        let all = lines(&text);
        for i in 0..all.len() {
            let mut deleted = all.clone();
            deleted.remove(i);
            let mut duplicated = all.clone();
            duplicated.insert(i, all[i]);
            for variant in [deleted.join("\n"), duplicated.join("\n")] {
                if let Ok(parsed) = SiweMessage::parse(&variant) {
                    assert_ne!(parsed, original, "{variant:?}");
                    // The only deletions that still parse drop an optional field; the only
                    // duplication that parses repeats a resource.
                    assert!(
                        i == 3 // the statement: what is left is a message without one
                            || all[i].starts_with("Expiration Time: ")
                            || all[i].starts_with("Not Before: ")
                            || all[i].starts_with("Request ID: ")
                            || all[i].starts_with("- "),
                        "line {i} {:?}",
                        all[i]
                    );
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = SiweMessage::parse(&text);
            let _ = verify(&text, "0x00");
        }

        #[test]
        fn mutated_messages_never_panic_and_never_verify(
            index in 0usize..600,
            byte in 0x20u8..0x7f,
            cut in 0usize..600,
        ) {
            let text = full();
            let sig = sign(&text);
            let mut bytes = text.clone().into_bytes();
            let i = index % bytes.len();
            if bytes[i] != byte {
                bytes[i] = byte;
                let changed = String::from_utf8(bytes).unwrap();
                if let Ok(m) = SiweMessage::parse(&changed) {
                    prop_assert!(verify_signature(&m, &changed, &sig).is_err());
                }
            }
            let truncated = &text[..cut % text.len()];
            prop_assert!(verify(truncated, &sig).is_err());
        }

        #[test]
        fn arbitrary_field_values_in_the_frame_never_panic(
            domain in "[ -~]{0,40}",
            statement in "[ -~]{0,40}",
            uri in "[ -~]{0,40}",
            time in "[ -~]{0,40}",
        ) {
            let text = format!(
                "{domain} wants you to sign in with your Ethereum account:\n{ADDRESS}\n\n{statement}\n\nURI: {uri}\nVersion: 1\nChain ID: 1\nNonce: abcdefgh\nIssued At: {time}"
            );
            let _ = SiweMessage::parse(&text);
        }
    }
}
