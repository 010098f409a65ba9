"""Pure translations between the wire formats clients speak (Anthropic Messages, OpenAI Responses) and
the chat-completions shape the pipeline carries inside. No I/O here."""
