"""Cooperation requests between organisations: the double opt-in that reveals contacts."""
