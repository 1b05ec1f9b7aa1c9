"""HTML pages of the leads app, one module per area (leads, scoring, definitions, forms, imports)."""
