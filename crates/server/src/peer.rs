//! Who is asking: the socket's peer, or (behind a reverse proxy, when told to trust it) the
//! hop the proxy appended to `X-Forwarded-For`.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

/// The client address of a request: with `trust_forwarded_for`, the rightmost
/// `X-Forwarded-For` entry (what the proxy appended; entries further left are the client's
/// own claims); else, or when that entry is missing or not an address, the socket's peer.
pub(crate) fn client(peer: SocketAddr, headers: &HeaderMap, trust_forwarded_for: bool) -> IpAddr {
    if trust_forwarded_for {
        let rightmost = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|v| !v.is_empty());
        if let Some(ip) = rightmost.and_then(|v| v.parse::<IpAddr>().ok()) {
            return ip;
        }
    }
    peer.ip()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rightmost_forwarded_entry_counts_only_when_trusted() {
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.append(
            "x-forwarded-for",
            "62.116.129.216, 203.0.113.9".parse().unwrap(),
        );
        headers.append("x-forwarded-for", "198.51.100.7".parse().unwrap());
        assert_eq!(client(peer, &headers, true).to_string(), "198.51.100.7");
        assert_eq!(client(peer, &headers, false).to_string(), "127.0.0.1");
        assert_eq!(
            client(peer, &HeaderMap::new(), true).to_string(),
            "127.0.0.1"
        );
    }
}
