"""Built-in featurizers: compositions (Magpie), polymers (RDKit), tabular vectors."""
