"""Leaner TrueType subsets in the PDFs matplotlib writes: the same glyphs, without layout tables.

Every chart PDF and the pack's pages embed their fonts as TrueType (Type 42) subsets made by
fontTools, and making a subset was a third of the CPU of drawing the annual report: most of it
reads and prunes DejaVu Sans' OpenType layout tables (GSUB, GPOS: ligatures, kerning pairs, mark
positions for many scripts). A PDF viewer never reads them: the page gives each glyph by its
index and position, and copy and search go through the ToUnicode map, which matplotlib writes
from the characters drawn. So the subsets leave these two tables out (about half of the cost of
a subset); the glyphs, their outlines and metrics, and the text a reader searches stay as they
were, and the fonts are still embedded TrueType.

``lean_subsets()`` sets this for the PDFs saved inside it. It reaches into matplotlib's private
``backends._backend_pdf_ps`` (its fontTools module, whose ``load_font`` receives the subsetting
options); should a matplotlib release move that, PDFs are written with the full subsets, as before.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from contextlib import contextmanager

# The OpenType layout tables a PDF viewer does not read.
LAYOUT_TABLES = ("GSUB", "GPOS")


class _SubsetWithoutLayout(types.ModuleType):
    """fontTools.subset as matplotlib's subsetting sees it: ``load_font`` drops the layout tables."""

    def __init__(self, subset: types.ModuleType):
        super().__init__(subset.__name__)
        self._subset = subset

    def __getattr__(self, name: str):
        return getattr(self._subset, name)

    def load_font(self, fontfile, options, *args, **kwargs):
        # The same options go to the Subsetter, which removes these tables before it walks them.
        options.drop_tables = [*options.drop_tables, *(t for t in LAYOUT_TABLES if t not in options.drop_tables)]
        return self._subset.load_font(fontfile, options, *args, **kwargs)


@contextmanager
def lean_subsets() -> Iterator[None]:
    """PDFs saved inside embed their TrueType subsets without the OpenType layout tables."""
    try:
        from matplotlib.backends import _backend_pdf_ps
    except ImportError:  # pragma: no cover - a matplotlib without the module: full subsets
        yield
        return
    original = getattr(_backend_pdf_ps, "subset", None)
    if (
        not isinstance(original, types.ModuleType)
        or not hasattr(original, "load_font")
        or isinstance(original, _SubsetWithoutLayout)
    ):
        yield  # not the layout this module knows (or already lean): PDFs as matplotlib writes them
        return
    _backend_pdf_ps.subset = _SubsetWithoutLayout(original)
    try:
        yield
    finally:
        _backend_pdf_ps.subset = original
