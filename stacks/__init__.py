"""Infrastructure only: one module per stack, composed from small constructs."""
