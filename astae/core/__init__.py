"""The astae library: language, data, model, training and evaluation, with no CLI dependencies."""
