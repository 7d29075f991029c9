"""Feature handlers, one module per feature; each module exports a Router."""
from handlers import config, help, links, release

ROUTERS = (help.router, config.router, links.router, release.router)
