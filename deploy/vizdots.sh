#!/bin/sh
# `vizdots` inside the image: the CLI run from the source in /app (PYTHONPATH).
exec python -m bot.cli "$@"
