"""Plain data: run records, ids, statuses, time formats, secret patterns. No I/O here."""
