"""Provider wire formats: Chat Completions, Responses and Anthropic payloads, server-sent events, tool definitions."""
