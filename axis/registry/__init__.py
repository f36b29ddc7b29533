"""The agency registry (Art. 8.2 identifiers, Art. 22 accounts): values in `model`, the
store port in `ports`, the rules in `rules` and `consistency`, the service in `service`."""
