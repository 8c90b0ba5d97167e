"""Rendering of analyses: each format its own module; renderers format, they never compute."""
FORMATS = ("table", "json", "csv", "markdown")
