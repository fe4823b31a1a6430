"""The rules: their files (`files`, `catalog`) read into plain data (`model`), compiled to
durable_rules JSON (`compiler`), evaluated (`engine`, the only module importing durable), and
each rule's own examples (`cases`)."""
