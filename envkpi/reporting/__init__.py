"""What people read: the charts and report pack of a fiscal year (``charts``, ``report_pack``,
``annual_report``, with lean font subsets for its PDFs: ``pdf_fonts``), the filings
(``filings``), the rejection report for plants (``rejection_report``), spreadsheet-safe CSV and
XLSX (``export``), the notebooks' access to the snapshot (``published``, ``notebook_display``)
and the notification of a bad night (``notify``)."""
