"""Launch the bare ASGI baseline under Uvicorn with the FastAPI app's settings: uvloop,
httptools, no access log. HOST, PORT and WORKERS come from the environment (the harness sets them)."""

import os

import uvicorn

if __name__ == "__main__":
    uvicorn.run(
        "app:app",
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        workers=int(os.environ.get("WORKERS", "1")),
        access_log=False,
        loop="uvloop",
        http="httptools",
        log_level="warning",
    )
