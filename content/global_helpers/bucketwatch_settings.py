"""Site-specific settings of bucketwatch's built-in detections.

Values come from bucketwatch_settings.toml beside the content tree's root, or from the file named
by the BUCKETWATCH_SETTINGS environment variable. Rules call the functions below (never read the
file themselves), so a test can replace any of them with a mock.
"""

import fnmatch
import ipaddress
import os
import tomllib
from functools import lru_cache
from pathlib import Path

_DEFAULT_FILE = Path(__file__).resolve().parent.parent / "bucketwatch_settings.toml"


@lru_cache(maxsize=1)
def settings() -> dict:
    path = Path(os.environ.get("BUCKETWATCH_SETTINGS") or _DEFAULT_FILE)
    if not path.exists():
        return {}
    with path.open("rb") as f:
        return tomllib.load(f)


def _section(name: str) -> dict:
    return settings().get(name) or {}


def approved_cidrs() -> list:
    return list(settings().get("approved_cidrs", ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]))


def public_buckets() -> list:
    return list(settings().get("public_buckets", []))


def watched_buckets() -> list:
    return list(settings().get("watched_buckets", []))


def is_watched(bucket) -> bool:
    watched = watched_buckets()
    return not watched or bucket in watched


def bucket_role_mapping() -> dict:
    return dict(_section("bucket_role_mapping"))


def trusted_accounts() -> list:
    return [str(a) for a in _section("accounts").get("trusted", [])]


def cloudtrail_log_buckets() -> list:
    return list(_section("cloudtrail").get("log_buckets", []))


def cloudtrail_min_retention_days() -> int:
    return int(_section("cloudtrail").get("min_retention_days", 365))


def large_object_bytes() -> int:
    return int(_section("exfiltration").get("large_object_bytes", 10 * 1024 * 1024))


def ransom_note_patterns() -> list:
    return list(_section("ransomware").get("note_patterns", []))


@lru_cache(maxsize=64)
def _networks(cidrs: tuple) -> tuple:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


# Rules ask about the same few thousand addresses over and over (a bucket's clients, a scanner's
# burst), and parsing one with ipaddress costs more than the rest of a rule: answers are cached
# per address text, in bounded caches (a few MB at most).
_ADDRESSES_CACHED = 16384


@lru_cache(maxsize=_ADDRESSES_CACHED)
def _address(ip: str):
    try:
        return ipaddress.ip_address(ip)
    except ValueError:
        return None


def is_ip(value) -> bool:
    """True when value, as text and exactly as logged, is an IPv4 or IPv6 address."""
    return _address(str(value)) is not None


@lru_cache(maxsize=_ADDRESSES_CACHED)
def normalized_ip(text: str):
    """text (surrounding whitespace ignored) as an IP address in its normal notation
    (`2001:db8::1` for `2001:0db8:0:0:0:0:0:1`), or None when it is not an address."""
    address = _address(text.strip())
    return None if address is None else str(address)


def ip_in_cidrs(ip, cidrs) -> bool:
    """Whether ip (text) lies in any of cidrs; False for text that is not an IP address.
    Networks and recent answers are cached: rules call this for every event."""
    return _in_networks(str(ip), tuple(cidrs))


@lru_cache(maxsize=_ADDRESSES_CACHED)
def _in_networks(ip: str, cidrs: tuple) -> bool:
    address = _address(ip)
    if address is None:
        return False
    return any(address in network for network in _networks(cidrs))


def matches_any(value, patterns) -> bool:
    """Case-sensitive fnmatch of value against any glob pattern."""
    return any(fnmatch.fnmatchcase(str(value), p) for p in patterns)
