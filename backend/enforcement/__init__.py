"""Enforcement: a plate read in, a stored, explainable verdict out."""
