"""The WebSocket side: connect / disconnect / frame router, and the one delivery path to sockets."""
