"""Task samplers: which tasks each training step draws a batch from."""
