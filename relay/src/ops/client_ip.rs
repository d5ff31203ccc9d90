//! Who is calling: the client's address, from the TCP peer, or from `X-Forwarded-For` only when
//! the peer is a configured trusted proxy.
//!
//! `X-Forwarded-For` is written by whoever sends the request, so it is trusted only as far as
//! the chain of trusted proxies goes: walking the header from the right (the hop the nearest
//! proxy appended), trusted proxies are skipped and the first untrusted address is the client.
//! A hop that is not an address stops the walk at the last trusted hop. With no trusted proxies
//! configured (the default) the header is ignored.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use axum::http::HeaderMap;

/// The most `X-Forwarded-For` hops looked at, from the right.
pub const MAX_FORWARDED_HOPS: usize = 32;

/// The client's address as the relay decided it; a request extension set by the per-address
/// layer of [`crate::ops::Ops::wrap`], for handlers (and the access log) that need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

/// A trusted proxy: one address (`10.0.0.7`, `::1`) or a network (`10.0.0.0/8`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedProxy {
    network: IpAddr,
    prefix: u8,
}

/// A trusted proxy that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an IP address or network (expected e.g. 10.0.0.7, 10.0.0.0/8 or fd00::/8)")]
pub struct BadTrustedProxy(pub String);

impl TrustedProxy {
    /// Whether `ip` is this proxy (or in this network).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

/// The first `bits` bits of `a` and `b` are equal.
fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let bits = usize::from(bits);
    let (whole, rest) = (bits / 8, bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    a[whole] & mask == b[whole] & mask
}

impl FromStr for TrustedProxy {
    type Err = BadTrustedProxy;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadTrustedProxy(text.to_owned());
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let network = IpAddr::from_str(addr).map_err(|_| bad())?.to_canonical();
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.len() <= 3 => {
                p.parse::<u8>().map_err(|_| bad())?
            }
            Some(_) => return Err(bad()),
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(TrustedProxy { network, prefix })
    }
}

impl fmt::Display for TrustedProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl<'de> serde::Deserialize<'de> for TrustedProxy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for TrustedProxy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The client's address: the peer's, unless the peer is a trusted proxy; then the right-most
/// `X-Forwarded-For` hop that is not a trusted proxy.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[TrustedProxy]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|p| p.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(client) {
        return client;
    }
    let values: Vec<&[u8]> = headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| v.as_bytes())
        .collect();
    let hops = values
        .iter()
        .rev()
        .flat_map(|v| v.rsplit(|&b| b == b','))
        .take(MAX_FORWARDED_HOPS);
    for hop in hops {
        match parse_hop(hop) {
            Some(ip) => {
                client = ip;
                if !is_trusted(ip) {
                    return ip;
                }
            }
            None => return client,
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(hop: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(hop).ok()?.trim();
    let ip = IpAddr::from_str(text)
        .ok()
        .or_else(|| SocketAddr::from_str(text).ok().map(|s| s.ip()))
        .or_else(|| {
            let inner = text.strip_prefix('[')?.strip_suffix(']')?;
            Ipv6Addr::from_str(inner).ok().map(IpAddr::V6)
        })?;
    Some(ip.to_canonical())
}

/// The key a per-address limit counts under: an IPv4 address, or an IPv6 address's /64
/// network (one subscriber usually holds a whole /64, so single addresses would be free).
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn proxies(list: &[&str]) -> Vec<TrustedProxy> {
        list.iter().map(|p| p.parse().unwrap()).collect()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_ignored_without_trusted_proxies() {
        let h = xff(&["1.2.3.4"]);
        assert_eq!(client_ip(ip("203.0.113.9"), &h, &[]), ip("203.0.113.9"));
    }

    #[test]
    fn forwarded_for_is_ignored_from_an_untrusted_peer() {
        let h = xff(&["1.2.3.4"]);
        let t = proxies(&["10.0.0.0/8"]);
        assert_eq!(client_ip(ip("203.0.113.9"), &h, &t), ip("203.0.113.9"));
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        // The client forged "6.6.6.6"; the proxy appended the real address.
        let t = proxies(&["10.0.0.0/8"]);
        let h = xff(&["6.6.6.6, 198.51.100.7, 10.1.1.1"]);
        assert_eq!(client_ip(ip("10.0.0.2"), &h, &t), ip("198.51.100.7"));
        // The same across several header lines.
        let h = xff(&["6.6.6.6", "198.51.100.7", "10.1.1.1"]);
        assert_eq!(client_ip(ip("10.0.0.2"), &h, &t), ip("198.51.100.7"));
    }

    #[test]
    fn hops_with_ports_and_brackets_parse() {
        let t = proxies(&["::1"]);
        assert_eq!(
            client_ip(ip("::1"), &xff(&["[2001:db8::1]:443"]), &t),
            ip("2001:db8::1")
        );
        assert_eq!(
            client_ip(ip("::1"), &xff(&["198.51.100.7:80"]), &t),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn a_garbage_hop_stops_at_the_last_trusted_hop() {
        let t = proxies(&["10.0.0.0/8"]);
        let h = xff(&["198.51.100.7, not-an-ip, 10.0.0.3"]);
        assert_eq!(client_ip(ip("10.0.0.2"), &h, &t), ip("10.0.0.3"));
        // No header from a trusted proxy: the proxy itself.
        assert_eq!(
            client_ip(ip("10.0.0.2"), &HeaderMap::new(), &t),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_proxies() {
        let t = proxies(&["127.0.0.1"]);
        let h = xff(&["198.51.100.7"]);
        assert_eq!(
            client_ip(ip("::ffff:127.0.0.1"), &h, &t),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn trusted_proxies_parse_strictly() {
        for good in [
            "10.0.0.1",
            "10.0.0.0/8",
            "0.0.0.0/0",
            "fd00::/8",
            "::1",
            "::/0",
        ] {
            assert!(good.parse::<TrustedProxy>().is_ok(), "{good}");
        }
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "host",
            "10.0.0/8",
        ] {
            assert!(bad.parse::<TrustedProxy>().is_err(), "{bad}");
        }
        let net: TrustedProxy = "10.128.0.0/9".parse().unwrap();
        assert!(net.contains(ip("10.200.1.1")));
        assert!(!net.contains(ip("10.1.1.1")));
        assert!(!net.contains(ip("::ffff:10.1.1.1")));
    }

    #[test]
    fn ipv6_clients_are_limited_by_their_64() {
        assert_eq!(limit_key(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1:2::"));
        assert_eq!(limit_key(ip("198.51.100.7")), ip("198.51.100.7"));
        assert_eq!(limit_key(ip("::ffff:198.51.100.7")), ip("198.51.100.7"));
    }
}
