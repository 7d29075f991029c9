"""Allow `python -m bot …` as well as `shipbot …`."""
from bot.cli import main

raise SystemExit(main())
