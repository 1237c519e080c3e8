"""Weights: every model named in one place, resolved, converted once into the shared cache, and checked."""
