"""The XML face: lxml serializers for every command response, and the XSD registry."""
