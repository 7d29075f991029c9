"""Allow `python -m bot …` as well as `shipbot …`."""
from bot.cli import run

run()
