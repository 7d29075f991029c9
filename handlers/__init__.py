"""Feature handlers, one module per feature; each module exports a Router."""
from handlers import help

ROUTERS = (help.router,)
