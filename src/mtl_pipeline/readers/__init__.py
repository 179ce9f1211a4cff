"""Readers turn a source file (or HF dataset) into a table of raw records."""
