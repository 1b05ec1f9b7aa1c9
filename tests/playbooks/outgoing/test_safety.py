"""The URL guard: no webhook to loopback, private, link-local or metadata addresses however the
host is written, unless the allow-list names it; public hosts pass. Names are resolved through a
table (the `resolve` seam), never through the network."""

import ipaddress

import pytest
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from playbooks.outgoing.safety import address_refusal, url_refusal, url_target
from tests.playbooks.outgoing.receiver import resolver

NAMES = resolver(
    {
        "hooks.example.com": ["93.184.216.34"],
        "dual.example.com": ["2606:2800:220:1:248:1893:25c8:1946", "93.184.216.34"],
        "evil.example": ["10.0.0.5"],
        "loop.example": ["127.0.0.1"],
        "half.example": ["93.184.216.34", "169.254.169.254"],
        "mapped.example": ["::ffff:192.168.0.1"],
        "onprem.corp.example": ["10.20.0.7"],
    }
)

# (URL, a phrase its refusal must contain)
UNSAFE = [
    ("http://127.0.0.1/", "loopback"),
    ("http://127.1/", "127.0.0.1, a loopback"),
    ("http://2130706433/", "127.0.0.1, a loopback"),
    ("http://0x7f000001/", "127.0.0.1, a loopback"),
    ("http://0177.0.0.1/", "127.0.0.1, a loopback"),
    ("http://0x7f.1/", "127.0.0.1, a loopback"),
    ("http://0x7F.0.0.1/", "127.0.0.1, a loopback"),
    ("http://127.0.0.1./", "loopback"),
    ("https://１２７。０。０。１/", "127.0.0.1, a loopback"),  # full-width digits, ideographic full stop
    ("http://[::1]/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "127.0.0.1, a loopback"),
    ("http://[::ffff:7f00:1]/", "127.0.0.1, a loopback"),
    ("http://[::7f00:1]/", "IPv4-compatible"),
    ("http://[64:ff9b::7f00:1]/", "tunnel to 127.0.0.1"),  # NAT64
    ("http://[2002:a00:1::]/", "tunnel to 10.0.0.1"),  # 6to4
    ("http://10.0.0.1/", "private-network"),
    ("http://172.16.5.4/", "private-network"),
    ("http://192.168.1.1/", "private-network"),
    ("http://[fd12:3456::1]/", "private-network"),
    ("http://100.64.0.1/", "carrier-grade NAT"),
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://0xa9fea9fe/", "metadata"),
    ("http://[fd00:ec2::254]/", "metadata"),
    ("http://169.254.1.1/", "link-local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[fe80::1%25eth0]/", "zone"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("https://224.0.0.1/", "multicast"),
    ("https://[ff02::1]/", "multicast"),
    ("https://240.0.0.1/", "special-purpose"),
    ("https://192.0.2.10/", "special-purpose"),
    ("http://localhost/", "localhost is this server"),
    ("http://localhost:8000/", "localhost is this server"),
    ("http://LOCALHOST./", "localhost is this server"),
    ("https://ｌｏｃａｌｈｏｓｔ/", "localhost is this server"),
    ("http://foo.localhost/", "foo.localhost is this server"),
    ("http://metadata.google.internal/computeMetadata/v1/", "private network name (.internal)"),
    ("http://printer.local/", "private network name (.local)"),
    ("http://metadata/", "no dot"),
    ("http://intranet./", "no dot"),
    ("https://evil.example/hook", "evil.example resolves to 10.0.0.5, a private-network address"),
    ("https://loop.example/hook", "loop.example resolves to 127.0.0.1, a loopback"),
    ("https://half.example/hook", "resolves to 169.254.169.254"),
    ("https://mapped.example/hook", "resolves to 192.168.0.1"),
    ("https://nowhere.example/hook", "does not resolve"),
    ("http://user:pass@example.com/", "user name and password"),
    ("https://hooks.example.com@127.0.0.1/", "user name and password"),
    ("https://hooks.example.com\\@127.0.0.1/", "user name and password"),
    ("ftp://hooks.example.com/", "https://"),
    ("file:///etc/passwd", "https://"),
    ("javascript:alert(1)", "https://"),
    ("gopher://127.0.0.1:6379/_FLUSHALL", "https://"),
    ("hooks.example.com/hook", "missing its scheme"),
    ("//hooks.example.com/hook", "missing its scheme"),
    ("https:///hook", "no host"),
    ("https://hooks.example.com:0/", "port"),
    ("https://hooks.example.com:99999/", "port"),
    ("https://hooks.example.com:http/", "port"),
    ("https://[::1/", "not a valid web address"),
    ("https://hooks.example.com/a b", "spaces"),
    ("https://hooks.exa\tmple.com/", "spaces"),
    ("https://127.0.0.%31/", "not a valid host name"),
    ("https://1.2.3.08/", "not a valid one"),
    ("https://256.0.0.1/", "not a valid one"),
    ("https://1.2.3.4.5/", "not a valid one"),
    ("https://a..b.example/", "not a valid host name"),
    ("http://93.184.216.34/", "Use https://"),
    ("http://hooks.example.com/", "Use https://"),
    ("https://hooks.example.com/" + "x" * 500, "at most 500"),
    ("", "Enter the receiver's address"),
]

SAFE = [
    "https://hooks.example.com/hook",
    "https://HOOKS.example.com./hook?lead=1&x=%20y",
    "https://hooks.example.com:8443/hook#fragment",
    "https://dual.example.com/",
    "https://93.184.216.34/hook",
    "https://1572395042/hook",  # 93.184.216.34 as one number: public, so it passes
    "https://[2606:2800:220:1:248:1893:25c8:1946]/hook",
    "https://[::ffff:93.184.216.34]/hook",
    "https://[64:ff9b::5db8:d822]/hook",  # NAT64 of 93.184.216.34
]


@pytest.mark.parametrize(("url", "phrase"), UNSAFE)
def test_an_unsafe_url_is_refused_with_a_message_saying_why(url, phrase, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    refused = url_refusal(url, resolve=NAMES)
    assert refused is not None and phrase in refused


@pytest.mark.parametrize("url", SAFE)
def test_a_public_url_may_be_called(url, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    assert url_refusal(url, resolve=NAMES) is None


def test_a_name_is_called_at_every_address_it_resolves_to_with_its_own_name_as_host(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    target = url_target("https://HOOKS.example.com.:8443/h/ü?a=1#top", resolve=NAMES)
    assert (target.scheme, target.host, target.port) == ("https", "hooks.example.com", 8443)
    assert target.path == "/h/%C3%BC?a=1"  # percent-encoded as a browser sends it; the fragment never is
    assert target.addresses == (ipaddress.ip_address("93.184.216.34"),)
    dual = url_target("https://dual.example.com/", resolve=NAMES)
    assert [str(a) for a in dual.addresses] == ["2606:2800:220:1:248:1893:25c8:1946", "93.184.216.34"]


def test_a_number_is_called_at_the_address_it_spells(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    target = url_target("https://1572395042/hook", resolve=NAMES)
    assert target.host == "93.184.216.34" and target.addresses == (ipaddress.ip_address("93.184.216.34"),)


def test_the_allow_list_lets_its_addresses_through_however_written_and_nothing_else(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1", "10.20.0.0/16"]
    for url in ("http://127.0.0.1:8080/hook", "http://0x7f.1:8080/", "http://[::ffff:127.0.0.1]:8080/"):
        assert url_refusal(url, resolve=NAMES) is None, url
    assert url_refusal("http://onprem.corp.example/hook", resolve=NAMES) is None  # resolves into 10.20/16
    assert "loopback" in url_refusal("http://127.0.0.2/", resolve=NAMES)
    assert "localhost is this server" in url_refusal("http://localhost/", resolve=NAMES)
    assert "private-network" in url_refusal("https://evil.example/", resolve=NAMES)
    assert "user name" in url_refusal("http://a:b@127.0.0.1/", resolve=NAMES)


def test_the_allow_list_may_name_a_host(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["Onprem.Corp.Example."]
    target = url_target("http://onprem.corp.example/hook", resolve=NAMES)
    assert target.addresses == (ipaddress.ip_address("10.20.0.7"),)
    assert "private-network" in url_refusal("http://evil.example/hook", resolve=NAMES)


def test_a_mapped_address_on_the_allow_list_is_called_as_ipv4(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    target = url_target("http://[::ffff:7f00:1]:8080/", resolve=NAMES)
    assert target.host == "127.0.0.1" and target.addresses == (ipaddress.ip_address("127.0.0.1"),)


SPELLINGS = st.sampled_from(["dec", "oct", "hex"])


def _spelt(number: int, how: str) -> str:
    return {"dec": str(number), "oct": f"0{number:o}", "hex": f"0x{number:x}"}[how]


@override_settings(WEBHOOK_ALLOWED_HOSTS=[])
@given(
    address=st.integers(min_value=0, max_value=2**32 - 1),
    parts=st.integers(min_value=1, max_value=4),
    spellings=st.lists(SPELLINGS, min_size=4, max_size=4),
)
def test_however_an_ipv4_address_is_spelt_the_verdict_is_that_address(address, parts, spellings):
    # 1 to 4 parts: the last part holds the remaining bytes, as inet_aton and browsers read it.
    data = address.to_bytes(4, "big")
    head = list(data[: parts - 1])
    last = int.from_bytes(data[parts - 1 :], "big")
    written = ".".join(_spelt(n, how) for n, how in zip([*head, last], spellings, strict=False))
    expected = ipaddress.IPv4Address(address)
    refused = url_refusal(f"https://{written}/hook", resolve=NAMES)
    if address_refusal(expected) is None:
        assert refused is None, written
        assert url_target(f"https://{written}/hook", resolve=NAMES).addresses == (expected,)
    else:
        assert refused is not None and str(expected) in refused, written
