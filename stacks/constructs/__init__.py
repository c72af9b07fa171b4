"""Small reusable constructs the stacks are built from."""
