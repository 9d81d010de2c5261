"""OAuth 2 client credentials: API accounts, the token endpoint and bearer-token checks."""
