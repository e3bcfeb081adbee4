"""The agent loop and the HTTP model clients it talks to."""
