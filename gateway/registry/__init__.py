"""The registry of appliances and connected clients: domain model, service and demo population."""
