"""The multi-task model as a unit: build, save, load, predict."""
