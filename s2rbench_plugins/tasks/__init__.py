"""Built-in task plugins: the shipped cards (`cards/`) and the loaders whose data need code."""
