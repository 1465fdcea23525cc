"""tools/perception."""
