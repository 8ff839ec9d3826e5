"""Built-in variants (installed as translate.plugins)."""
