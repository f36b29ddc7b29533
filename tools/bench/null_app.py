"""The null HTTP endpoint: the ceiling of the HTTP stack and of the bench's own client.

`POST /v1/sendEdoc` reads the whole body (as the node must) and answers a receipt of the
node's shape without looking at it; started by the bench exactly as the node is (a
uvicorn process of its own), so the difference to the node is the node's own work.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

app = FastAPI()


@app.post("/v1/sendEdoc")
async def send_edoc(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse({"duplicate": False, "bytes": len(body),
                         "deliveries": [{"recipient": "null", "doc_id": "null"}]})


@app.get("/readyz")
async def readyz() -> JSONResponse:
    return JSONResponse({"ready": True})
