"""Running the ASGI app on AWS Lambda: Mangum plus what it leaves to us."""
