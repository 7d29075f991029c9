"""shipbot: ChatOps and release automation for GitHub and GitLab."""
