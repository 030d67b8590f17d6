"""A tiny shop on FastAPI that texts its customers when an order ships (isobil's example)."""
