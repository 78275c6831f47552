"""The storage format: run refs, metadata notes, snapshot and result trees. See docs/format.md."""
