"""The write side: aggregates, their events, and the application that stores them."""
