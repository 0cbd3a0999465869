"""Models of the campaigns app (filled by its own issue)."""
