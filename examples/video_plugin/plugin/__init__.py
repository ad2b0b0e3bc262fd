"""The plugin under test: a small worker that answers plugin-lifecycle events."""
