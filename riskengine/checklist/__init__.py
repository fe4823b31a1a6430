"""The checklist a project manager submits: the contract as data (`contract`), its validation
(`validation`), and checklists read from tables, a workbook's or a form's (`tables`)."""
