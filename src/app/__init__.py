"""A FastAPI application that runs on AWS Lambda behind an API Gateway HTTP API."""

__version__ = "0.1.0"
