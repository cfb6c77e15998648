"""Pure functions that reproduce Azure's decisions. They import only the model."""
