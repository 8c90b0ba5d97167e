"""Rendering: each format its own module; renderers format what the core computed, they never compute."""
