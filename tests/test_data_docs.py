"""Data Docs that work without the internet: every asset a page loads is inside the site."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

TWO_PLANTS = [["P1", "One", "BU1", "JP", "", ""], ["P2", "Two", "BU1", "JP", "", ""]]
ATTRIBUTE = re.compile(r"""\b(src|href|action)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from helpers import Landing

    landing = Landing(tmp_path_factory.mktemp("docs"))
    landing.plants(TWO_PLANTS)
    landing.energy("energy_P1.csv", [["P1", "2017-04", "electricity", "-1", "kWh"]])
    landing.production("production_P1.csv", [["P1", "2017-04", "10", "t"]])
    # Two production files in two batches (one file each): the second brings new values only in
    # some columns, so its batch checks part of the suite, as on a large night.
    landing.production("production_P2.csv", [["P1", "2017-04", "12.5", "t"]])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("envkpi.ingest.deliveries.BATCH_BYTES", 1)
        landing.run(data_docs=True)
    return landing.settings.reports / "data_docs"


def pages(site: Path) -> list[Path]:
    found = sorted(site.rglob("*.html"))
    assert len(found) > 3
    return found


def test_no_data_docs_page_links_an_asset_on_the_internet(site):
    for page in pages(site):
        text = page.read_text(encoding="utf-8")
        for attribute, value in ATTRIBUTE.findall(text):
            assert not re.match(r"(https?:)?//", value, re.IGNORECASE), f"{page.name}: {attribute}={value}"
        assert not re.search(r"<(script|link|img)\b[^>]*https?://", text, re.IGNORECASE), page.name


def test_every_local_asset_a_page_loads_is_in_the_site(site):
    for page in pages(site):
        text = page.read_text(encoding="utf-8")
        for tag in re.findall(r"<(?:script|link)\b[^>]*>", text, re.IGNORECASE):
            for _, value in ATTRIBUTE.findall(tag):
                if value and not value.startswith("#"):
                    assert (page.parent / unquote(value)).resolve().is_file(), f"{page}: {value}"
    # the libraries the index's table needs to be filled in at all
    index = (site / "index.html").read_text(encoding="utf-8")
    for library in ("jquery", "bootstrap-4.3.1.min.js", "bootstrap-table-1.19.1.min.js", "bootstrap-4.3.1.min.css"):
        assert library in index
    for style in (site / "static" / "offline").glob("*.css"):
        for url in CSS_URL.findall(style.read_text(encoding="utf-8")):
            if not url.startswith("data:"):
                assert (
                    (style.parent / url.split("?")[0].split("#")[0]).is_file()
                    or "brands" in url
                    or "v4compat" in url
                    or url.endswith(".ttf")
                ), f"{style.name}: {url}"


def test_data_docs_page_names_say_what_they_check(site):
    names = [page.name for page in pages(site)]
    assert not [name for name in names if re.search(r"\(\d+(, \d+)*\)", name)], names
    assert any(name.startswith("deliveries-production - ") and "unit" in name for name in names), names


def test_validation_pages_point_to_the_rejection_report_by_file_and_row(site):
    validations = [page for page in pages(site) if page.relative_to(site).parts[0] == "validations"]
    assert validations
    for page in validations:
        text = page.read_text(encoding="utf-8")
        link = re.search(r'href="([^"]*rejections\.html)"', text)
        assert link, page.name
        assert (page.parent / link.group(1)).resolve() == (site.parent / "rejections.html").resolve()
        assert (site.parent / "rejections.html").is_file()


def test_reference_kinds_name_file_and_row_in_data_docs(tmp_path):
    from helpers import Landing

    landing = Landing(tmp_path)
    landing.plants([["P1", "One", "BU1", "JP", "2017-04", "2016-04"]], name="plants_bad.csv")  # ends before it starts
    landing.run(data_docs=True)
    page = next((landing.settings.reports / "data_docs" / "validations" / "plants").rglob("*.html"))
    text = page.read_text(encoding="utf-8")
    assert "source_file" in text and "plants_bad.csv" in text and "source_row" in text


def test_a_night_that_validates_nothing_leaves_the_site_as_it_was(tmp_path):
    from helpers import Landing

    landing = Landing(tmp_path)
    landing.plants(TWO_PLANTS)
    rows = [["P1", "2017-04", "electricity", "5", "kWh"]]
    landing.energy("energy_P1.csv", rows)
    landing.run(data_docs=True)
    site = landing.settings.reports / "data_docs"
    before = {path: path.stat().st_mtime_ns for path in site.rglob("*") if path.is_file()}
    assert before
    # A new file whose content was loaded already: the validator is built (something new by its
    # status), but nothing is validated, so nothing is rendered or made offline again.
    landing.energy("energy_P1_copy.csv", rows)
    assert landing.run(data_docs=True).ingest.unchanged == ["plants.csv", "energy_P1.csv", "energy_P1_copy.csv"]
    assert {path: path.stat().st_mtime_ns for path in site.rglob("*") if path.is_file()} == before


def test_data_docs_are_rendered_into_the_site_only(tmp_path, monkeypatch):
    """GX's ephemeral context brings a site of its own in a new temporary folder; a run renders
    none there (it would double the rendering and leave a copy of the site behind every run)."""
    import tempfile

    from helpers import Landing

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    landing = Landing(tmp_path / "run")
    landing.plants(TWO_PLANTS)
    landing.energy("energy_P1.csv", [["P1", "2017-04", "electricity", "5", "kWh"]])
    landing.run(data_docs=True)
    assert (landing.settings.reports / "data_docs" / "index.html").is_file()
    assert not list(scratch.rglob("*.html"))
