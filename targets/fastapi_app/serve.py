"""Launch the FastAPI app under Uvicorn as it is run in production: uvloop, httptools,
no access log. HOST, PORT, WORKERS and KEEPALIVE_TIMEOUT_S (seconds an idle keep-alive
connection stays open; 5, Uvicorn's default, when unset) come from the environment (the
harness sets them)."""

import os

import uvicorn

if __name__ == "__main__":
    uvicorn.run(
        "main:app",
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        workers=int(os.environ.get("WORKERS", "1")),
        access_log=False,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        timeout_keep_alive=float(os.environ.get("KEEPALIVE_TIMEOUT_S", "5")),  # asyncio's call_later: any float
    )
