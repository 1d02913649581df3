"""s2rbench's built-in plugins, registered through the project's own ``s2rbench`` entry points
exactly as a third-party package registers its own. They import only public s2rbench API."""
