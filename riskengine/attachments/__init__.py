"""Evidence attachments: photos and PDFs on findings and checklist items (issue 11, item 1)."""
