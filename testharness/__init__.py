"""Test-service harness: fixtures that start real servers on 127.0.0.1 and stop them."""
