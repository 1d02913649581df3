"""Built-in models: the reference network, its transfer strategies, boosted trees, ridge."""
