"""The web server around the app: uvicorn, with guards against slow and numerous clients."""
