"""A chatbot that explains Meta's AI training on Facebook/Instagram data and how to object."""

__version__ = "0.1.0"
