"""What people read: the charts and report pack of a fiscal year (``charts``, ``report_pack``,
``annual_report``), the filings (``filings``), the rejection report for plants, spreadsheet-safe
CSV and XLSX (``export``), the notebooks' access to the snapshot (``published``,
``notebook_display``) and the notification of a bad night (``notify``)."""
