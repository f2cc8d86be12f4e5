"""The permit office on the web: server-rendered pages and a JSON API over the same services."""
