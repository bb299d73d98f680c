"""Jinja2 templates and CSS of the reports (package data; a user folder may override one)."""
