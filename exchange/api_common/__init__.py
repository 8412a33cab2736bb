"""Helpers every app's API shares: the documented error body, cursor pagination, ETags and the
OpenAPI post-processing that keeps the generated schema honest about errors."""
