"""Great Expectations' Data Docs, made to work without the internet.

GX's pages load Bootstrap, jQuery, bootstrap-table and more from CDNs; on a plant or head-office
network without the internet the index is an unstyled page with nothing in it (its table is
filled in by bootstrap-table). After GX renders the site, the libraries it needs are copied into
the site (``static/offline/``, shipped in ``envkpi/validation/static/data_docs/``) and every page's links to
them are rewritten to those copies. Assets the pages can do without (Vega for profiling charts,
a dark theme) are dropped, GX's remote logos point to the logo GX ships, and
links out to GX's website lose their address. No page then refers to anything outside the site.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from envkpi.reporting.export import replace_atomically
from envkpi.settings import PACKAGE_DIR

ASSETS_DIR = PACKAGE_DIR / "validation" / "static" / "data_docs"
OFFLINE_FOLDER = "static/offline"

# A CDN address (by a part of it) and the shipped copy that replaces it.
LOCAL_COPIES = (
    ("jquery-3", "jquery-3.7.1.min.js"),
    ("popper.min.js", "popper-1.12.9.min.js"),
    ("bootstrap/4.3.1/js/bootstrap.min.js", "bootstrap-4.3.1.min.js"),
    ("bootstrap/4.3.1/css/bootstrap.min.css", "bootstrap-4.3.1.min.css"),
    ("filter-control.min.js", "bootstrap-table-filter-control-1.19.1.min.js"),
    ("filter-control", "bootstrap-table-filter-control-1.19.1.min.css"),  # .css and .min.css
    ("bootstrap-table.min.js", "bootstrap-table-1.19.1.min.js"),
    ("bootstrap-table.min.css", "bootstrap-table-1.19.1.min.css"),
    ("bootstrap-datepicker.min.js", "bootstrap-datepicker-1.9.0.min.js"),
    ("bootstrap-datepicker.min.css", "bootstrap-datepicker-1.9.0.min.css"),
    ("font-awesome", "fontawesome-free-6.6.0.min.css"),  # the status icons
)
REMOTE = r"(?:https?:)?//[^\"'\s>]+"
_SCRIPT = re.compile(rf"<script\b[^>]*\bsrc=[\"']({REMOTE})[\"'][^>]*>\s*</script>", re.IGNORECASE)
_LINK = re.compile(rf"<link\b[^>]*\bhref=[\"']({REMOTE})[\"'][^>]*/?>", re.IGNORECASE)
_IMAGE = re.compile(rf"(<img\b[^>]*\bsrc=)[\"']({REMOTE})[\"']", re.IGNORECASE)
_SITE_STATIC = re.compile(r"""\b(href|src)=(["'])(?:\./|(?:\.\./)+)static/""", re.IGNORECASE)
_ADDRESS = re.compile(rf"\s(?:href|action|src)=[\"']{REMOTE}[\"']", re.IGNORECASE)


def _local(url: str) -> str | None:
    return next((copy for part, copy in LOCAL_COPIES if part in url), None)


def offline_page(text: str, to_root: str) -> str:
    """A page's HTML with every remote asset replaced by the site's copy, or removed."""
    prefix = f"{to_root}{OFFLINE_FOLDER}/"

    def script(match: re.Match) -> str:
        copy = _local(match.group(1))
        return f'<script src="{prefix}{copy}"></script>' if copy else ""

    def link(match: re.Match) -> str:
        copy = _local(match.group(1))
        return f'<link rel="stylesheet" href="{prefix}{copy}">' if copy and copy.endswith(".css") else ""

    text = _SCRIPT.sub(script, text)
    text = _LINK.sub(link, text)
    text = _IMAGE.sub(lambda m: f'{m.group(1)}"{to_root}static/images/logo-long.png"', text)
    text = _ADDRESS.sub("", text)  # links out to GX's website and newsletter
    # GX's own links to its static folder miss a level on the deepest pages (the favicon)
    return _SITE_STATIC.sub(lambda m: f"{m.group(1)}={m.group(2)}{to_root}static/", text)


# On each validation page: where the failing values are, by file and spreadsheet row. The monthly
# kinds are checked by distinct values, so GX's own row ids there number values, not rows.
WHERE_NOTE = (
    '<div class="alert alert-info m-3" id="envkpi-where">Each failing value by file, spreadsheet row '
    'and what to do: <a href="{to_root}../rejections.html">the rejection report</a> '
    '(<a href="{to_root}../rejections.xlsx">XLSX</a>). The monthly kinds are checked by distinct '
    "value: a row id on this page numbers a value, not a spreadsheet row.</div>"
)
_BODY = re.compile(r"<body\b[^>]*>", re.IGNORECASE)


def with_where_note(text: str, to_root: str) -> str:
    if 'id="envkpi-where"' in text:
        return text
    return _BODY.sub(lambda m: m.group(0) + WHERE_NOTE.format(to_root=to_root), text, count=1)


def make_offline(site: Path) -> list[Path]:
    """Copy the libraries into ``site`` and rewrite every page of it; returns the pages rewritten."""
    target = site / OFFLINE_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    for asset in sorted(ASSETS_DIR.iterdir()):
        if asset.suffix in (".js", ".css"):
            shutil.copyfile(asset, target / asset.name)
    (target / "webfonts").mkdir(exist_ok=True)
    for font in sorted((ASSETS_DIR / "webfonts").iterdir()):
        shutil.copyfile(font, target / "webfonts" / font.name)
    rewritten = []
    for page in sorted(site.rglob("*.html")):
        depth = len(page.relative_to(site).parts) - 1
        text = page.read_text(encoding="utf-8")
        offline = offline_page(text, "../" * depth)
        if page.relative_to(site).parts[0] == "validations":
            offline = with_where_note(offline, "../" * depth)
        if offline != text:
            replace_atomically(page, lambda tmp, offline=offline: tmp.write_text(offline, encoding="utf-8"))
            rewritten.append(page)
    return rewritten
