"""Outputs people look at: the overlay video drawing (reports come next)."""
