"""The restaurant's public menu: read by anyone, written with the ``menu:write`` scope."""
