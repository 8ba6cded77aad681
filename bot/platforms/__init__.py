"""Platform adapters: translate platform updates into events and replies into API calls."""
