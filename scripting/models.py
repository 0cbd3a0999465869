"""Models of the scripting app (filled by its own issue)."""
