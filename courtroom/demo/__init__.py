"""``courtroom demo``: a sample hearing on a running server, or a whole one sealed (``--sealed``).

Everything goes through the server's real REST API and hearing websocket, as a browser would.
"""
