"""BFF's security: API keys checked through a short cache, rate limits, the admin guard."""
