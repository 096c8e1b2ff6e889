"""The operator console: server-rendered pages for the duty officer, behind a login."""
