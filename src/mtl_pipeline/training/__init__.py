"""The training loop and what it needs: batching, devices, precision, checkpoints."""
