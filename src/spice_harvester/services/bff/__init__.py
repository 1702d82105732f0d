"""Backend for Frontend: the public, label-based API."""
