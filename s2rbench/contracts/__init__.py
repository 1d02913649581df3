"""The contracts of extension: what a model, featurizer, sampler and task hand to the harness and
receive from it. Data classes and base classes only; they import numpy and the error type, nothing
of the pipeline above them, so a plugin depends on this layer alone."""
