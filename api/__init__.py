"""The HTTP layer of CancerAssist: thin FastAPI routes over the ``cancerassist`` library."""
