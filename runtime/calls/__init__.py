"""Voice and video calls: a state machine over call items, each transition a `call` message."""
