"""Build Slack Block Kit messages with slack_sdk's models, validated before they are sent.

Handlers call these helpers instead of importing slack_sdk: the platform stays behind bot/.
https://api.slack.com/reference/block-kit/blocks
"""
from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, MarkdownTextObject, SectionBlock

# Slack truncates nothing for us: a section's text over 3000 characters is rejected.
SECTION_LIMIT = 3000


def _checked(blocks: list[Block]) -> list[dict]:
    for block in blocks:
        block.validate_json()  # raises SlackObjectFormationError on what Slack would reject
    return [block.to_dict() for block in blocks]


def text_blocks(text: str) -> list[dict]:
    """One mrkdwn section holding `text` (the message's fallback text stays the same words)."""
    return _checked([SectionBlock(text=MarkdownTextObject(text=text[:SECTION_LIMIT]))])


def confirm_blocks(text: str, value: str, *, confirm_label: str = "Confirm", cancel_label: str = "Cancel",
                   confirm_action: str = "deploy_confirm", cancel_action: str = "deploy_cancel") -> list[dict]:
    """`text` with a danger-styled Confirm button and a Cancel button, both carrying `value`."""
    return _checked([
        SectionBlock(text=MarkdownTextObject(text=text[:SECTION_LIMIT])),
        ActionsBlock(block_id="deploy_confirmation", elements=[
            ButtonElement(text=confirm_label, action_id=confirm_action, value=value, style="danger"),
            ButtonElement(text=cancel_label, action_id=cancel_action, value=value),
        ]),
    ])
