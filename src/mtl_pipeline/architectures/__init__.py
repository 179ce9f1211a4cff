"""Multi-task architectures: how the encoder is shared between task heads."""
