"""genbench's built-in model plugins, installed and discovered through the ``genbench`` entry points
exactly as a third-party package's would be."""
