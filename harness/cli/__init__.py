"""The ``segarena`` command line (typer). It owns printing, progress bars and exit codes."""
