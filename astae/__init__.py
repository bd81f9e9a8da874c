"""astae: AST autoencoders for program synthesis."""

__version__ = "0.1.0"
