"""ingest: read sources into `Document`s and cut them into `Chunk`s with exact character offsets.

- `ingest.readers.iter_documents(paths)` walks files and folders (seed dictionary pages, JSONL
  records and the shipped structured sets, text, Markdown, PDF) and yields `Document`s, or a
  `ingest.errors.ReadFailure` for each file (or JSONL line) it had to skip.
- `ingest.chunker.chunk_document(doc)` packs whole sentences and list items into chunks inside
  one section and page.
- `ingest.text` holds the pure text helpers (`normalise`, `split_units`, `strip_hidden`),
  `ingest.monograph` the recovery of a drug-handbook monograph's lost headings.
"""
