"""A bare Starlette hello, the uvicorn comparison (`uvicorn hello_starlette:app`)."""

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def hello(request):
    return JSONResponse({"message": "Hello, Cloud Explorer! Your Serverless code is running!"})


app = Starlette(routes=[Route("/hello", hello)])
