"""The XML command face: /api/command (and the legacy alias /api/command.ns), its XSD and /check_health."""
