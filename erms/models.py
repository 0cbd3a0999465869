"""Models of the erms app (filled by its own issue)."""
