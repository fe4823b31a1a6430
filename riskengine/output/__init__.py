"""What people and tools read: the CLI's formats (`formats`), the PDF and XLSX reports
(`reports`), the Excel template and its reading back (`workbook`), the YAML/JSON templates
(`template`)."""
