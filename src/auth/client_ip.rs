//! The client's address for throttling: the TCP peer, or, when the peer is a trusted proxy
//! (`SCOUT_TRUSTED_PROXIES`), the last address in `X-Forwarded-For` that is not one of them.
//! Without trusted proxies the header is ignored: anyone can write it.

use axum::http::HeaderMap;
use std::net::IpAddr;

pub fn client_ip(headers: &HeaderMap, peer: Option<IpAddr>, trusted: &[IpAddr]) -> IpAddr {
    let peer = peer.map(|p| p.to_canonical()).unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|t| t.to_canonical() == *ip);
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse::<IpAddr>().ok().map(|ip| ip.to_canonical()))
        .collect();
    forwarded.into_iter().rev().find(|ip| !is_trusted(ip)).unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "1.1.1.1, 2.2.2.2".parse().unwrap());
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(client_ip(&h, Some(proxy), &[]), proxy);
        assert_eq!(client_ip(&h, Some(proxy), &[proxy]), "2.2.2.2".parse::<IpAddr>().unwrap());
        h.insert("x-forwarded-for", "1.1.1.1, 10.0.0.1".parse().unwrap());
        assert_eq!(client_ip(&h, Some(proxy), &[proxy]), "1.1.1.1".parse::<IpAddr>().unwrap());
    }
}

/// Whether a request came from another machine or through a proxy (which may be forwarding anyone):
/// a peer that is not loopback, or any forwarding header.
pub fn from_network(headers: &HeaderMap, peer: Option<IpAddr>) -> bool {
    let forwarded = ["x-forwarded-for", "forwarded", "x-real-ip", "x-forwarded-host"].iter().any(|h| headers.contains_key(*h));
    forwarded || peer.is_none_or(|p| !p.to_canonical().is_loopback())
}
