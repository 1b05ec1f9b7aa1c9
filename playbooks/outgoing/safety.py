"""The URL guard for outgoing webhooks: a playbook may call public addresses only.

Whoever writes a playbook picks the URL, and the request leaves from inside the network the
product runs in, so an unchecked URL would let them reach this server (127.0.0.1), the private
network (10/8, 192.168/16, …) or the cloud's metadata service (169.254.169.254, which hands out
credentials). The check runs twice: when the step is saved (a clear refusal, nothing stored) and
again right before each delivery, on the addresses the name resolves to *then*; the connection
goes to the address that was checked (`pinned_post`), never to a second lookup, so a name that
changes its answer between check and connect (DNS rebinding) cannot reach a private address.

How a host is read, in order:
1. The URL: http or https only, no user name or password, a host, a port from 1 to 65535;
   spaces, control characters and zone ids are refused rather than cleaned up.
2. The host, normalised as a browser and libc would: IDNA (full-width letters and the
   ideographic full stop become ASCII), lower case, one trailing dot dropped; a host whose last
   label is a number is an IPv4 address in any of the old spellings (2130706433, 0x7f000001,
   0177.0.0.1, 0x7f.1, 127.1) and is read as one, or refused if it is not a valid one.
3. A name: `localhost` and `*.localhost`, names under private-use suffixes (.internal, which
   holds metadata.google.internal, .local, .localdomain, .home.arpa) and bare names without a
   dot (looked up through the local search domains) are refused as written; any other name is
   resolved and every address it resolves to must pass.
4. An address, IPv4-mapped, NAT64 and 6to4 addresses judged by the IPv4 address they carry:
   only public unicast addresses pass (not loopback, private, carrier-grade NAT, link-local,
   unspecified, multicast, reserved or otherwise special-purpose).

`settings.WEBHOOK_ALLOWED_HOSTS` names host names and addresses or networks (CIDR) that pass
although private: an on-premises receiver, or a test server on 127.0.0.1. Plain http is allowed
only for such hosts: the body carries lead data, and the signature guards its integrity, not
its confidentiality.
"""

import contextlib
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# Called like socket.getaddrinfo(host, port, type=socket.SOCK_STREAM); tests pass their own.
Resolve = Callable[..., Iterable[tuple[Any, ...]]]

MAX_LENGTH = 500  # WebhookDelivery.url
DEFAULT_PORTS = {"http": 80, "https": 443}
NUMERIC = re.compile(r"[0-9]+|0x[0-9a-f]*")
LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
PRIVATE_SUFFIXES = ("internal", "local", "localdomain", "home.arpa")
PUBLIC_ONLY = "webhooks may call public addresses only (WEBHOOK_ALLOWED_HOSTS can allow a private receiver)."

RFC1918 = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")]
SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, RFC 6598
METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the well-known prefix: the last 32 bits are IPv4


class UnsafeURL(ValueError):
    """The URL may not be called; the message says why, for the person who wrote it."""


class Unresolved(UnsafeURL):
    """The host name does not resolve (now): at delivery, worth trying again later."""


@dataclass(frozen=True)
class Target:
    """Where a checked URL leads: the request goes to one of `addresses`, with `host` in the
    Host header and TLS SNI (the ASCII name, or the address as normalised)."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[Address, ...]


@dataclass(frozen=True)
class Reply:
    status: int
    reason: str
    location: str


def url_refusal(url: str, *, resolve: Resolve = socket.getaddrinfo) -> str | None:
    """Why this URL may not be called, or None when it may (the check made when a step is saved)."""
    try:
        url_target(url, resolve=resolve)
    except UnsafeURL as refused:
        return str(refused)
    return None


def url_target(url: str, *, resolve: Resolve = socket.getaddrinfo) -> Target:
    """The checked target of `url`; raises UnsafeURL (Unresolved when the name has no address)."""
    scheme, written, bracketed, port, path = _split(url)
    host = _host(written, bracketed=bracketed)
    names, networks = allow_list()
    if isinstance(host, str):
        named = host in names
        if not named and (refused := _name_refusal(host)):
            raise UnsafeURL(refused)
        addresses = _resolved(host, port, resolve)
        shown = f"{host} resolves to "
    else:
        named, addresses = False, [host]
        shown = "" if str(_effective(host)) == written else f"{written} is "
    allowed = named or all(any(_effective(a) in n for n in networks) for a in addresses)
    if not allowed:
        for address in addresses:
            if refused := address_refusal(address):
                what = f"{shown}{_effective(address)}, {refused}" if shown else f"{address} is {refused}"
                raise UnsafeURL(f"{what}: {PUBLIC_ONLY}")
        if scheme == "http":
            raise UnsafeURL("Use https://: the body carries lead data (plain http only for WEBHOOK_ALLOWED_HOSTS).")
    # A mapped address is the IPv4 host it names: connect there, and say so in the Host header.
    effective = tuple(dict.fromkeys(_effective(a) for a in addresses))
    return Target(scheme, host if isinstance(host, str) else str(_effective(host)), port, path, effective)


def address_refusal(address: Address) -> str | None:
    """What kind of non-public address this is ("a loopback address (this server)"), or None."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address_refusal(address.ipv4_mapped)
        carried = address.sixtofour or (address.packed[12:] if address in NAT64 else None)
        if carried is not None:
            inner = ipaddress.IPv4Address(carried)
            return f"a tunnel to {inner}, {refused}" if (refused := address_refusal(inner)) else None
        if address in IPV4_COMPATIBLE and not (address.is_loopback or address.is_unspecified):
            return "an IPv4-compatible address (deprecated, it may reach any IPv4 host)"
        if address.is_site_local:
            return "a site-local address (a private network)"
    for holds, kind in (
        (address.is_unspecified, "the unspecified address (it reaches this server)"),
        (address.is_loopback, "a loopback address (this server)"),
        (address in METADATA, "the cloud metadata service"),
        (address.is_link_local, "a link-local address (where cloud metadata services answer)"),
        (address.is_multicast, "a multicast address"),
        (any(address in n for n in RFC1918), "a private-network address"),
        (address.version == 4 and address in SHARED, "a carrier-grade NAT address (100.64.0.0/10)"),
        (address.is_private or address.is_reserved or not address.is_global, "a special-purpose address"),
    ):
        if holds:
            return kind
    return None


def allow_list() -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    """settings.WEBHOOK_ALLOWED_HOSTS as host names and networks (an address is a /32 or /128)."""
    names: set[str] = set()
    networks = []
    for entry in settings.WEBHOOK_ALLOWED_HOSTS:
        entry = entry.strip().removeprefix("[").removesuffix("]").lower()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
            continue
        except ValueError:
            pass
        if "/" in entry or ":" in entry:
            raise ImproperlyConfigured(f"WEBHOOK_ALLOWED_HOSTS: {entry!r} is neither a host name nor a network.")
        try:
            names.add(entry.encode("idna").decode("ascii").removesuffix("."))
        except UnicodeError as bad:
            raise ImproperlyConfigured(f"WEBHOOK_ALLOWED_HOSTS: {entry!r} is not a valid host name.") from bad
    return names, networks


# --- Reading the URL -----------------------------------------------------------------------


def _split(url: str) -> tuple[str, str, bool, int, str]:
    if not isinstance(url, str) or not url:
        raise UnsafeURL("Enter the receiver's address (https://…).")
    if len(url) > MAX_LENGTH:
        raise UnsafeURL(f"Use at most {MAX_LENGTH} characters (this has {len(url)}).")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise UnsafeURL("The address may not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as bad:  # "[::1" or a port that is not a number
        raise UnsafeURL("This is not a valid web address (check the host and the port).") from bad
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UnsafeURL(f"Use an https:// address (this one is {scheme + ':' if scheme else 'missing its scheme'}).")
    if "@" in parts.netloc:
        raise UnsafeURL("Leave the user name and password out of the address: receivers check the signature instead.")
    if not parts.hostname:
        raise UnsafeURL("The address has no host name.")
    if port == 0:
        raise UnsafeURL("The port must be a number from 1 to 65535.")
    bracketed = parts.netloc.startswith("[")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    # What a browser would send: characters outside ASCII percent-encoded (the fragment never is).
    path = re.sub(r"[^\x21-\x7e]", lambda m: quote(m.group()), path)
    return scheme, parts.hostname, bracketed, port or DEFAULT_PORTS[scheme], path


def _host(written: str, *, bracketed: bool) -> Address | str:
    """An address, or an ASCII host name, as a browser would read `written`."""
    if bracketed:
        if "%" in written:
            raise UnsafeURL(f"[{written}] names a network interface (a zone): {PUBLIC_ONLY}")
        try:
            return ipaddress.IPv6Address(written)
        except ValueError as bad:
            raise UnsafeURL(f"[{written}] is not a valid IPv6 address.") from bad
    try:
        name = written.encode("idna").decode("ascii").lower()
    except UnicodeError as bad:
        raise UnsafeURL(f"{written} is not a valid host name.") from bad
    labels = name.removesuffix(".").split(".")
    if NUMERIC.fullmatch(labels[-1]):  # as in browsers: then it must be an IPv4 address
        return _ipv4(labels, written)
    if len(name) > 253 or not all(LABEL.fullmatch(label) for label in labels):
        raise UnsafeURL(f"{written} is not a valid host name.")
    return ".".join(labels)


def _ipv4(labels: list[str], written: str) -> ipaddress.IPv4Address:
    """The WHATWG URL standard's IPv4 parser (what browsers and inet_aton accept): 1 to 4 parts,
    each decimal, octal (leading 0) or hex (0x); the last part fills the remaining bytes."""
    numbers = [_number(label) for label in labels]
    if len(numbers) > 4 or None in numbers:
        raise UnsafeURL(f"{written} looks like an IP address but is not a valid one.")
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        raise UnsafeURL(f"{written} looks like an IP address but is not a valid one.")
    return ipaddress.IPv4Address(sum(n << (8 * (3 - i)) for i, n in enumerate(head)) + last)


def _number(part: str) -> int | None:
    if part.startswith("0x"):
        digits, base, allowed = part[2:], 16, "0123456789abcdef"
    elif len(part) > 1 and part.startswith("0"):
        digits, base, allowed = part[1:], 8, "01234567"
    else:
        digits, base, allowed = part, 10, "0123456789"
    if not part or not all(c in allowed for c in digits):
        return None
    return int(digits or "0", base)


def _name_refusal(name: str) -> str | None:
    if name == "localhost" or name.endswith(".localhost"):
        return f"{name} is this server: {PUBLIC_ONLY}"
    if "." not in name:
        return f"“{name}” has no dot, so it is looked up on the local network: use the receiver's full host name."
    for suffix in PRIVATE_SUFFIXES:
        if name.endswith("." + suffix):
            return f"{name} is a private network name (.{suffix}): {PUBLIC_ONLY}"
    return None


def _resolved(name: str, port: int, resolve: Resolve) -> list[Address]:
    try:
        answers = resolve(name, port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(ipaddress.ip_address(answer[4][0]) for answer in answers))
    except (OSError, UnicodeError, ValueError) as failed:
        reason = getattr(failed, "strerror", None) or str(failed)
        raise Unresolved(f"{name} does not resolve ({reason}): check the host name.") from failed
    if not addresses:
        raise Unresolved(f"{name} does not resolve to any address: check the host name.")
    return addresses


def _effective(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


# --- Calling it ------------------------------------------------------------------------------


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the checked address, not to whatever the host name resolves to by now; Host
    (and for https, SNI and the certificate check) still use the name."""

    def __init__(self, target: Target, address: Address, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((str(self.address), self.port), self.timeout)


class _PinnedHTTPS(_PinnedHTTP):
    default_port = 443

    def connect(self) -> None:
        super().connect()
        self.sock = ssl.create_default_context().wrap_socket(self.sock, server_hostname=self.host)


class _Unreachable(Exception):
    """No connection to this address: the next one may be tried (nothing was sent)."""


def pinned_post(
    target: Target, body: bytes, headers: Mapping[str, str], *, timeout: float = 10.0, deadline: float = 30.0
) -> Reply:
    """POST `body` to the first of the target's checked addresses that accepts a connection.

    Redirects are not followed (one could lead to a private address): a 3xx is the reply. Each
    read or write waits at most `timeout` seconds and the whole call at most `deadline`, so a
    receiver that answers a byte at a time cannot hold a worker. Raises OSError or
    http.client.HTTPException when there is no reply.
    """
    give_up_at = time.monotonic() + deadline
    unreachable: BaseException = TimeoutError(f"No connection within {deadline:.0f} s.")
    for address in target.addresses:
        left = give_up_at - time.monotonic()
        if left <= 0:
            break
        try:
            return _post_once(target, address, body, headers, timeout=min(timeout, left), deadline=left)
        except _Unreachable as failed:
            unreachable = failed.__cause__ or failed
    raise unreachable


def _post_once(
    target: Target, address: Address, body: bytes, headers: Mapping[str, str], *, timeout: float, deadline: float
) -> Reply:
    kind = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    connection = kind(target, address, timeout)
    try:
        try:
            connection.connect()
        except OSError as failed:
            raise _Unreachable(str(failed)) from failed
        cut = threading.Event()
        watchdog = threading.Timer(deadline, _cut, (connection.sock, cut))
        watchdog.daemon = True
        watchdog.start()
        try:
            connection.request("POST", target.path, body=body, headers=dict(headers))
            response = connection.getresponse()
            reply = Reply(response.status, response.reason, response.getheader("Location", ""))
        except (OSError, http.client.HTTPException) as failed:
            if cut.is_set():
                raise TimeoutError(f"No complete reply within {deadline:.0f} s.") from failed
            raise
        finally:
            watchdog.cancel()
        if cut.is_set():  # headers cut short read as if they had ended: not a reply
            raise TimeoutError(f"No complete reply within {deadline:.0f} s.")
        return reply
    finally:
        connection.close()


def _cut(sock: socket.socket, cut: threading.Event) -> None:
    cut.set()
    # The plain socket's shutdown, under TLS too: it wakes the read blocked in the other thread.
    # OSError: already closed, the request finished as the deadline passed.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
