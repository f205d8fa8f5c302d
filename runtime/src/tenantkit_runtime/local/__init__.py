"""Running the runtime on one machine: the local token issuer (and the local server)."""
