"""Consular work: citizens abroad, safety check-ins, and keeping the registry fresh."""
