"""Task weighting and gradient combination methods."""
