"""Conversations and messages: the data that calls and ride-hailing bookings are built on."""
