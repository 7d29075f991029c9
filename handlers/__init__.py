"""Feature handlers, one module per feature; each module exports a Router."""
from handlers import (audit, catch_up, config, deploy, deploy_history, deploy_runs, deploy_status, dora, help, links, locks,
                      release, release_pr, release_preview, test_report)

ROUTERS = (
    help.router,
    config.router,
    links.router,
    release.router,
    release_pr.router,
    release_preview.router,
    locks.router,
    deploy.router,
    deploy_status.router,
    deploy_history.router,
    deploy_runs.router,
    test_report.router,
    audit.router,
    dora.router,
    catch_up.router,
)
