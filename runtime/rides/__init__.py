"""The ride-hailing messenger: a booking code is a two-person conversation (driver, passenger)."""
