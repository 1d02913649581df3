"""Built-in samplers: which simulated rows a trial pretrains on."""
