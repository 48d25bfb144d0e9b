"""Faithful local stand-ins for upstream video APIs: how vidgate is tested and demoed offline."""
