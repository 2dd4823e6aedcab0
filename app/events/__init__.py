"""Matchmaking events: registration, requests, recommendations, schedules and agendas."""
