//! IP address classification with the semantics of Python's `ipaddress` module
//! (`is_private`, `is_global`), which panther-analysis helpers and rule authors rely on.
//!
//! The special-purpose ranges come from the IANA IPv4 and IPv6 special-purpose address
//! registries, as CPython 3.13 lists them: "private" means not globally reachable.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// (network, prefix length) pairs.
const V4_PRIVATE: &[(u32, u8)] = &[
    (0x0000_0000, 8),  // 0.0.0.0/8 "this network"
    (0x0A00_0000, 8),  // 10.0.0.0/8
    (0x7F00_0000, 8),  // 127.0.0.0/8 loopback
    (0xA9FE_0000, 16), // 169.254.0.0/16 link local
    (0xAC10_0000, 12), // 172.16.0.0/12
    (0xC000_0000, 24), // 192.0.0.0/24 IETF protocol assignments
    (0xC000_00AA, 31), // 192.0.0.170/31 NAT64/DNS64 discovery
    (0xC000_0200, 24), // 192.0.2.0/24 TEST-NET-1
    (0xC0A8_0000, 16), // 192.168.0.0/16
    (0xC612_0000, 15), // 198.18.0.0/15 benchmarking
    (0xC633_6400, 24), // 198.51.100.0/24 TEST-NET-2
    (0xCB00_7100, 24), // 203.0.113.0/24 TEST-NET-3
    (0xF000_0000, 4),  // 240.0.0.0/4 reserved
    (0xFFFF_FFFF, 32), // limited broadcast
];

/// Globally reachable addresses inside [`V4_PRIVATE`] ranges.
const V4_PRIVATE_EXCEPTIONS: &[(u32, u8)] = &[
    (0xC000_0009, 32), // 192.0.0.9 PCP anycast
    (0xC000_000A, 32), // 192.0.0.10 TURN anycast
];

/// 100.64.0.0/10, shared address space (carrier-grade NAT): neither private nor global.
const V4_SHARED: (u32, u8) = (0x6440_0000, 10);

const V6_PRIVATE: &[(u128, u8)] = &[
    (0x0000_0000_0000_0000_0000_0000_0000_0001, 128), // ::1 loopback
    (0x0000_0000_0000_0000_0000_0000_0000_0000, 128), // :: unspecified
    (0x0000_0000_0000_0000_0000_ffff_0000_0000, 96),  // ::ffff:0:0/96 IPv4-mapped
    (0x0064_ff9b_0001_0000_0000_0000_0000_0000, 48),  // 64:ff9b:1::/48 local translation
    (0x0100_0000_0000_0000_0000_0000_0000_0000, 64),  // 100::/64 discard only
    (0x2001_0000_0000_0000_0000_0000_0000_0000, 23),  // 2001::/23 IETF protocol assignments
    (0x2001_0db8_0000_0000_0000_0000_0000_0000, 32),  // 2001:db8::/32 documentation
    (0x2002_0000_0000_0000_0000_0000_0000_0000, 16),  // 2002::/16 6to4
    (0x3fff_0000_0000_0000_0000_0000_0000_0000, 20),  // 3fff::/20 documentation
    (0xfc00_0000_0000_0000_0000_0000_0000_0000, 7),   // fc00::/7 unique local
    (0xfe80_0000_0000_0000_0000_0000_0000_0000, 10),  // fe80::/10 link local
];

const V6_PRIVATE_EXCEPTIONS: &[(u128, u8)] = &[
    (0x2001_0001_0000_0000_0000_0000_0000_0001, 128), // 2001:1::1 PCP anycast
    (0x2001_0001_0000_0000_0000_0000_0000_0002, 128), // 2001:1::2 TURN anycast
    (0x2001_0003_0000_0000_0000_0000_0000_0000, 32),  // 2001:3::/32 AMT
    (0x2001_0004_0112_0000_0000_0000_0000_0000, 48),  // 2001:4:112::/48 AS112-v6
    (0x2001_0020_0000_0000_0000_0000_0000_0000, 28),  // 2001:20::/28 ORCHIDv2
    (0x2001_0030_0000_0000_0000_0000_0000_0000, 28),  // 2001:30::/28 drone remote ID
];

fn in_v4(addr: u32, (net, len): (u32, u8)) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    addr & mask == net
}

fn in_v6(addr: u128, (net, len): (u128, u8)) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    addr & mask == net
}

fn v4_private(ip: Ipv4Addr) -> bool {
    let addr = u32::from(ip);
    V4_PRIVATE.iter().any(|&net| in_v4(addr, net))
        && !V4_PRIVATE_EXCEPTIONS.iter().any(|&net| in_v4(addr, net))
}

fn v4_global(ip: Ipv4Addr) -> bool {
    !in_v4(u32::from(ip), V4_SHARED) && !v4_private(ip)
}

fn v6_private(ip: Ipv6Addr) -> bool {
    let addr = u128::from(ip);
    V6_PRIVATE.iter().any(|&net| in_v6(addr, net))
        && !V6_PRIVATE_EXCEPTIONS.iter().any(|&net| in_v6(addr, net))
}

/// Python's `is_private`; an IPv4-mapped IPv6 address is judged by its IPv4 address.
pub(crate) fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_private(v4),
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or_else(|| v6_private(v6), v4_private),
    }
}

/// Python's `is_global`.
pub(crate) fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_global(v4),
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or_else(|| !v6_private(v6), v4_global),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_classification() {
        for private in [
            "10.1.2.3",
            "172.31.255.255",
            "192.168.0.1",
            "127.0.0.1",
            "169.254.169.254",
            "0.1.2.3",
            "192.0.2.7",
            "198.19.0.1",
            "255.255.255.255",
            "240.0.0.1",
        ] {
            assert!(is_private(ip(private)), "{private}");
            assert!(!is_global(ip(private)), "{private}");
        }
        for public in [
            "54.159.198.108",
            "8.8.8.8",
            "172.32.0.1",
            "192.0.0.9",
            "224.0.0.1",
        ] {
            assert!(!is_private(ip(public)), "{public}");
            assert!(is_global(ip(public)), "{public}");
        }
        // Carrier-grade NAT is neither.
        assert!(!is_private(ip("100.64.0.1")));
        assert!(!is_global(ip("100.64.0.1")));
    }

    #[test]
    fn ipv6_classification() {
        for private in [
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "2001:db8::1",
            "2002::1",
            "3fff::1",
        ] {
            assert!(is_private(ip(private)), "{private}");
            assert!(!is_global(ip(private)), "{private}");
        }
        for public in [
            "2600:1f18::1",
            "2001:4860:4860::8888",
            "2001:1::1",
            "2001:20::1",
        ] {
            assert!(!is_private(ip(public)), "{public}");
            assert!(is_global(ip(public)), "{public}");
        }
        assert!(is_private(ip("::ffff:10.0.0.1")));
        assert!(is_global(ip("::ffff:8.8.8.8")));
    }
}
