"""Models of the knowledge app (filled by its own issue)."""
