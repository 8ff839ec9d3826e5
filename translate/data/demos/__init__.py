"""Built-in demo data, generated procedurally (ships as code, not files): apples→oranges
(unpaired translation), glyphs (generative variants) and procedural photos (super-resolution)."""
