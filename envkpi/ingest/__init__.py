"""Taking in what plants deliver: finding the files in the landing folder, reading each one into
trimmed text whatever its format (``readers``), loading what is right and rejecting what is wrong
(``deliveries``), and the XLSX templates plants fill in (``template``)."""
