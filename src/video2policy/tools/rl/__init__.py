"""tools/rl."""
