"""The three HTTP services and the factory they share."""
